// The change log: records in a shared file mapping, replayed after a crash.
#include <chanstate/registry/journal_log.hpp>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <boost/json/parse.hpp>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chanstate/registry/journal_value.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

namespace {

// The file: a header, then records.
//   header  [8 magic][8 first sequence number of this round][48 reserved]
//   record  [8 sequence number][8 payload bytes][payload][pad to 8]
//   payload [4 changes] then per change
//           [1 erase_all][4+n topic][4+n client id][4 assigns]
//           per assign [4+n name][4 value bytes, ~0 = erased][value]
//   value   JSON text, or (the high bit of its length set) the binary
//           form of journal_value.hpp. Writing numbers as bytes instead
//           of text is what makes a record cheap: a list of integers is
//           most of what a demo channel's record holds. Records of JSON
//           text (logged by an earlier build) still replay.
constexpr char magic[8] = {'C', 'S', 'J', 'L', 'O', 'G', '0', '1'};
constexpr std::size_t header_bytes = 64;
constexpr std::size_t record_header_bytes = 16;
constexpr std::size_t initial_capacity = std::size_t{4} << 20;
constexpr std::uint32_t erased = ~std::uint32_t{0};
constexpr std::uint32_t binary = std::uint32_t{1} << 31;

caf::error sys_error(const std::string& what, const std::string& path) {
  return caf::make_error(registry_error::journal_unusable,
                         what + " " + path + ": " + std::strerror(errno));
}

std::uint64_t load64(const char* p) {
  std::uint64_t n;
  std::memcpy(&n, p, 8);
  return n;
}

// The sequence number is what publishes a record: stored last, in one
// aligned 8-byte store with release order, so a process that dies mid-record
// leaves the old number (the record is not there) or the new one (it is all
// there), never half of one.
void publish_seq(char* at, std::uint64_t seq) {
  __atomic_store_n(reinterpret_cast<std::uint64_t*>(at), seq,
                   __ATOMIC_RELEASE);
}

std::size_t padded(std::size_t n) {
  return (n + 7) & ~std::size_t{7};
}


using journal_value::encode;
using journal_value::put32;
using journal_value::put_text;
using journal_value::reader;

bool decode(reader r, std::vector<journal_store::key_change>& out) {
  std::uint32_t changes;
  if (!r.u32(changes))
    return false;
  for (std::uint32_t i = 0; i < changes; ++i) {
    journal_store::key_change c;
    std::uint8_t erase_all;
    std::uint32_t assigns;
    if (!r.u8(erase_all) || !r.text(c.key.topic) || !r.text(c.key.client_id)
        || !r.u32(assigns))
      return false;
    c.erase_all = erase_all != 0;
    for (std::uint32_t j = 0; j < assigns; ++j) {
      journal_store::assign_change a;
      std::uint32_t len;
      if (!r.text(a.name) || !r.u32(len))
        return false;
      if (len != erased) {
        std::string_view bytes;
        if (!r.bytes(len & ~binary, bytes))
          return false;
        boost::json::value v;
        if (len & binary) {
          reader sub{bytes.data(), bytes.size()};
          if (!sub.value(v) || sub.n != 0)
            return false;
        } else {
          boost::json::error_code ec;
          v = boost::json::parse(bytes, ec);
          if (ec)
            return false;
        }
        a.value = std::make_shared<const boost::json::value>(std::move(v));
      }
      c.assigns.push_back(std::move(a));
    }
    out.push_back(std::move(c));
  }
  return r.n == 0;
}

} // namespace

caf::expected<std::unique_ptr<journal_log>>
journal_log::open(const std::string& path) {
  std::unique_ptr<journal_log> log{new journal_log};
  log->path_ = path;
  log->fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (log->fd_ < 0)
    return sys_error("cannot open the journal's log", path);
  // Two processes appending to one mapping would overwrite each other's
  // records: the second is refused (the lock goes with the process).
  if (::flock(log->fd_, LOCK_EX | LOCK_NB) != 0)
    return caf::make_error(registry_error::journal_unusable,
                           "the journal's log " + path
                             + " is in use by another process");
  struct stat st;
  if (::fstat(log->fd_, &st) != 0)
    return sys_error("cannot stat the journal's log", path);
  auto size = static_cast<std::size_t>(st.st_size);
  if (auto err = log->reserve(size < header_bytes ? initial_capacity : size))
    return err;
  // A file cut short or still zero (the process died while creating it)
  // holds no record: it starts as a new log.
  static constexpr char zeros[sizeof magic] = {};
  bool fresh = size < header_bytes
               || std::memcmp(log->map_, zeros, sizeof zeros) == 0;
  if (fresh || std::memcmp(log->map_, magic, sizeof magic) != 0) {
    if (!fresh)
      return caf::make_error(registry_error::journal_corrupt,
                             "the journal's log " + path
                               + " is not a chanstate journal log");
    std::memcpy(log->map_, magic, sizeof magic);
    publish_seq(log->map_ + 8, 1);
  }
  log->next_seq_ = load64(log->map_ + 8);
  log->tail_ = header_bytes;
  // Find the end of this round's records: appends go after them.
  for (;;) {
    if (log->tail_ + record_header_bytes > log->capacity_)
      break;
    auto* rec = log->map_ + log->tail_;
    auto len = load64(rec + 8);
    if (load64(rec) != log->next_seq_
        || len > log->capacity_ - log->tail_ - record_header_bytes)
      break;
    log->tail_ += record_header_bytes + padded(len);
    ++log->next_seq_;
  }
  return log;
}

journal_log::~journal_log() {
  if (map_)
    ::munmap(map_, capacity_);
  if (fd_ >= 0)
    ::close(fd_);
}

caf::error journal_log::reserve(std::size_t bytes) {
  if (bytes <= capacity_)
    return caf::none;
  auto want = capacity_ == 0 ? bytes : capacity_;
  while (want < bytes)
    want *= 2;
  // Blocks are allocated now: a full disk is an error here, not a SIGBUS
  // when a record is copied into a page the file system cannot back.
  if (int rc = ::posix_fallocate(fd_, 0, static_cast<off_t>(want)); rc != 0) {
    errno = rc;
    return sys_error("cannot grow the journal's log", path_);
  }
  void* m = map_ ? ::mremap(map_, capacity_, want, MREMAP_MAYMOVE)
                 : ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_SHARED,
                          fd_, 0);
  if (m == MAP_FAILED)
    return sys_error("cannot map the journal's log", path_);
  map_ = static_cast<char*>(m);
  capacity_ = want;
  return caf::none;
}

caf::error
journal_log::append(const std::vector<journal_store::key_change>& batch) {
  auto& out = scratch_;
  out.clear();
  put32(out, static_cast<std::uint32_t>(batch.size()));
  for (const auto& c : batch) {
    out.push_back(c.erase_all ? 1 : 0);
    put_text(out, c.key.topic);
    put_text(out, c.key.client_id);
    put32(out, static_cast<std::uint32_t>(c.assigns.size()));
    for (const auto& a : c.assigns) {
      put_text(out, a.name);
      if (!a.value) {
        put32(out, erased);
        continue;
      }
      auto at = out.size();
      put32(out, 0);
      encode(out, *a.value);
      auto len = out.size() - at - 4;
      if (len >= binary)
        return caf::make_error(registry_error::journal_unusable,
                               "a value of " + std::to_string(len)
                                 + " bytes is too large for the journal's "
                                   "log");
      auto tagged = static_cast<std::uint32_t>(len) | binary;
      std::memcpy(out.data() + at, &tagged, 4);
    }
  }
  auto bytes = record_header_bytes + padded(out.size());
  if (auto err = reserve(tail_ + bytes))
    return err;
  auto* rec = map_ + tail_;
  std::uint64_t len = out.size();
  std::memcpy(rec + 8, &len, 8);
  std::memcpy(rec + record_header_bytes, out.data(), out.size());
  publish_seq(rec, next_seq_);
  tail_ += bytes;
  ++next_seq_;
  return caf::none;
}

caf::expected<std::vector<journal_store::key_change>>
journal_log::replay(std::uint64_t after) const {
  std::vector<journal_store::key_change> out;
  auto seq = load64(map_ + 8);
  for (std::size_t at = header_bytes; seq < next_seq_; ++seq) {
    auto* rec = map_ + at;
    auto len = static_cast<std::size_t>(load64(rec + 8));
    if (seq > after
        && !decode({rec + record_header_bytes, len}, out))
      return caf::make_error(registry_error::journal_corrupt,
                             "the journal's log " + path_ + " holds record "
                               + std::to_string(seq)
                               + " that does not decode; refusing to load it");
    at += record_header_bytes + padded(len);
  }
  return out;
}

void journal_log::restart(std::uint64_t first) {
  if (next_seq_ < first)
    next_seq_ = first;
  tail_ = header_bytes;
  // One aligned 8-byte store: the old round's records end here whether or
  // not the process dies right after.
  publish_seq(map_ + 8, next_seq_);
}

std::size_t journal_log::used() const noexcept {
  return tail_ - header_bytes;
}

caf::error journal_log::sync() {
  if (::msync(map_, capacity_, MS_SYNC) != 0)
    return sys_error("cannot sync the journal's log", path_);
  return caf::none;
}

} // namespace chanstate
