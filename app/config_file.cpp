// The config-file check: comments out, unknown keys refused by name.
#include "app/config_file.hpp"

#include <caf/error.hpp>
#include <caf/sec.hpp>

namespace chanstate {

namespace {

std::string_view trim(std::string_view s) {
  auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos)
    return {};
  auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// The line up to its first `#` or `;` outside double quotes.
std::string_view strip_comment(std::string_view line) {
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted && c == '\\') {
      ++i; // an escaped character, maybe a quote
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && (c == '#' || c == ';')) {
      return line.substr(0, i);
    }
  }
  return line;
}

caf::error line_error(std::size_t n, const std::string& what) {
  return caf::make_error(caf::sec::invalid_argument,
                         "config file line " + std::to_string(n) + ": "
                           + what);
}

} // namespace

caf::expected<std::string> clean_config(std::string_view text,
                                        const known_key_fn& known,
                                        const value_check_fn& check) {
  std::string out;
  std::string section = "global";
  std::size_t n = 0;
  while (!text.empty()) {
    auto eol = text.find('\n');
    auto raw = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{}
                                         : text.substr(eol + 1);
    ++n;
    auto line = trim(strip_comment(raw));
    if (line.empty()) {
      out += '\n'; // keeps CAF's line numbers equal to ours
      continue;
    }
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3)
        return line_error(n, "expected [section], got: " + std::string{line});
      section = std::string{trim(line.substr(1, line.size() - 2))};
      out.append(line).push_back('\n');
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      return line_error(n, "expected key = value, got: " + std::string{line});
    auto key = trim(line.substr(0, eq));
    if (key.empty())
      return line_error(n, "a value without a key: " + std::string{line});
    if (!known(section, key)) {
      auto name = section == "global"
                    ? "--" + std::string{key}
                    : "--" + section + "." + std::string{key};
      return line_error(n, "unknown option " + name + " (in the file: "
                             + std::string{key} + ")");
    }
    if (check) {
      if (auto why = check(section, key, trim(line.substr(eq + 1)));
          !why.empty())
        return line_error(n, why);
    }
    out.append(line).push_back('\n');
  }
  return out;
}

} // namespace chanstate
