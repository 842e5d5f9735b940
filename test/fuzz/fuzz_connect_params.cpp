// Fuzzes the upgrade request's parsers: request target, query string, connect
// verdict, origin list and subprotocol header.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <chanstate/endpoint/connect_params.hpp>
#include "test/fuzz/fuzz_check.hpp"

using namespace chanstate;
using chanstate::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto input = fuzz::as_text(data, size);
  // The whole input is a request target ("/socket/websocket?vsn=2.0.0&...").
  auto target = split_target(input);
  check(target.path.size() + target.query.size() <= input.size(),
        "split_target stays inside its input");
  if (auto decoded = percent_decode(target.query))
    check(decoded->size() <= target.query.size(),
          "percent_decode never grows its input");
  auto verdict = check_connect(target.query);
  check(verdict.status == 0 || verdict.status == 400 || verdict.status == 403,
        "a verdict accepts, or refuses with 400 or 403");
  if (verdict.status == 0) {
    check(!verdict.client_id.empty(), "an accepted connect has a client_id");
    check(vsn_supported(verdict.vsn), "an accepted connect speaks ~> 2.0.0");
  } else {
    check(!verdict.reason.empty(), "a refusal says why");
  }
  // The same bytes as an --allowed-origins list and as a header value.
  auto origins = parse_origin_list(input);
  for (const auto& o : origins) {
    check(!o.empty(), "no empty origin");
    check(origin_allowed(origins, o), "a listed origin is allowed");
    check(offers_subprotocol(input, o), "both comma lists split alike");
  }
  check(origin_allowed(origins, ""), "no Origin header is allowed");
  return 0;
}
