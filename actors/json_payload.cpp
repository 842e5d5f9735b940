// Payload text and materialization with shared lists.
#include <chanstate/actors/json_payload.hpp>

#include <algorithm>
#include <charconv>

#include <boost/json/serializer.hpp>

namespace chanstate {

namespace {

const shared_list* find_list(const shared_lists& xs, boost::json::string_view key) {
  for (const auto& l : xs.lists)
    if (key == l.key)
      return &l;
  return nullptr;
}

void put_value(std::string& out, boost::json::serializer& sr,
               const boost::json::value& v) {
  if (v.is_int64()) {
    // The common element of a shared list: no serializer round.
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), v.get_int64());
    out.append(buf, r.ptr);
    return;
  }
  sr.reset(&v);
  append_serialized(out, sr);
}

void put_key(std::string& out, boost::json::serializer& sr,
             boost::json::string_view key) {
  sr.reset(key);
  append_serialized(out, sr);
  out += ':';
}

void put_list(std::string& out, boost::json::serializer& sr,
              const shared_list& l) {
  out += '[';
  bool first = true;
  for (const auto& part : l.parts) {
    if (!part || !part->is_array())
      continue;
    for (const auto& x : part->get_array()) {
      if (!first)
        out += ',';
      first = false;
      put_value(out, sr, x);
    }
  }
  out += ']';
}

// `obj` with the shared lists in place of (or after) its own fields.
void put_object(std::string& out, boost::json::serializer& sr,
                const boost::json::object& obj, const shared_lists& xs) {
  out += '{';
  bool first = true;
  for (const auto& kv : obj) {
    if (find_list(xs, kv.key()))
      continue;
    if (!first)
      out += ',';
    first = false;
    put_key(out, sr, kv.key());
    put_value(out, sr, kv.value());
  }
  for (const auto& l : xs.lists) {
    if (!first)
      out += ',';
    first = false;
    put_key(out, sr, l.key);
    put_list(out, sr, l);
  }
  out += '}';
}

boost::json::array copy_list(const shared_list& l) {
  std::size_t n = 0;
  for (const auto& part : l.parts)
    if (part && part->is_array())
      n += part->get_array().size();
  boost::json::array out;
  out.reserve(n);
  for (const auto& part : l.parts)
    if (part && part->is_array())
      out.insert(out.end(), part->get_array().begin(),
                 part->get_array().end());
  return out;
}

} // namespace

void json_payload::materialize() {
  if (!shared)
    return;
  auto xs = std::move(shared);
  boost::json::object* target = &value;
  if (!xs->in.empty()) {
    auto& slot = value[xs->in];
    if (!slot.is_object())
      slot = boost::json::object{};
    target = &slot.get_object();
  }
  for (const auto& l : xs->lists)
    (*target)[l.key] = copy_list(l);
}

void append_payload(std::string& out, const json_payload& p) {
  boost::json::serializer sr;
  if (!p.shared) {
    sr.reset(&p.value);
    append_serialized(out, sr);
    return;
  }
  const auto& xs = *p.shared;
  if (xs.in.empty()) {
    put_object(out, sr, p.value, xs);
    return;
  }
  // The lists belong one level down (a reply's "response").
  static const boost::json::object empty;
  out += '{';
  bool first = true;
  bool placed = false;
  for (const auto& kv : p.value) {
    if (!first)
      out += ',';
    first = false;
    put_key(out, sr, kv.key());
    if (kv.key() == xs.in) {
      placed = true;
      put_object(out, sr, kv.value().is_object() ? kv.value().get_object()
                                                 : empty,
                 xs);
    } else {
      put_value(out, sr, kv.value());
    }
  }
  if (!placed) {
    if (!first)
      out += ',';
    put_key(out, sr, xs.in);
    put_object(out, sr, empty, xs);
  }
  out += '}';
}

std::string serialize_payload(const json_payload& p) {
  std::string out;
  append_payload(out, p);
  return out;
}

void append_serialized(std::string& out, boost::json::serializer& sr) {
  while (!sr.done()) {
    auto used = out.size();
    auto room = std::max<std::size_t>(out.capacity() - used, 64);
    out.resize(used + room);
    auto got = sr.read(&out[used], room);
    out.resize(used + got.size());
  }
}

} // namespace chanstate
