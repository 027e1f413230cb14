#include "georank/retrieval/npy.hpp"

#include <bit>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_set>

#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/utf8.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

[[noreturn]] void bad(const std::string& path, const std::string& reason) {
  throw Error(ErrorKind::invalid_argument, path + ": " + reason);
}

// Value text of `'key': value` in the header dict, up to the next top-level comma or brace.
std::string dict_value(const std::string& header, const std::string& key, const std::string& path) {
  const auto k = header.find("'" + key + "'");
  if (k == std::string::npos) bad(path, "npy header has no '" + key + "' field");
  auto pos = header.find(':', k);
  if (pos == std::string::npos) bad(path, "npy header field '" + key + "' has no value");
  ++pos;
  while (pos < header.size() && std::isspace(static_cast<unsigned char>(header[pos]))) ++pos;
  std::size_t end = pos;
  int depth = 0;
  while (end < header.size()) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    ++end;
    if (depth == 0 && c == ')') break;
  }
  return header.substr(pos, end - pos);
}

std::vector<std::size_t> parse_shape(const std::string& text, const std::string& path) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    bad(path, "npy header has a malformed shape " + text);
  std::vector<std::size_t> dims;
  std::string inner = text.substr(1, text.size() - 2);
  std::stringstream ss(inner);
  std::string part;
  while (std::getline(ss, part, ',')) {
    std::size_t b = 0, e = part.size();
    while (b < e && std::isspace(static_cast<unsigned char>(part[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(part[e - 1]))) --e;
    if (b == e) continue;
    std::size_t v = 0;
    for (std::size_t i = b; i < e; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(part[i])))
        bad(path, "npy header has a malformed shape " + text);
      const auto digit = static_cast<std::size_t>(part[i] - '0');
      if (v > (std::numeric_limits<std::size_t>::max() - digit) / 10)
        bad(path, "npy header field 'shape' has a dimension too large: " + text);
      v = v * 10 + digit;
    }
    dims.push_back(v);
  }
  return dims;
}

std::size_t item_size(NpyDtype d) {
  return d == NpyDtype::float32 ? 4 : 2;
}

}  // namespace

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal half: normalise into a float
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

std::uint16_t float_to_half(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN (keep NaN quiet and non-zero)
    return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {               // below the smallest normal half: subnormal or zero
    if (abs < 0x33000000u) return sign;  // < 2^-25 rounds to zero
    const std::uint32_t e = abs >> 23;
    const std::uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - e;  // value = m * 2^(e - 150); half subnormal unit 2^-24
    std::uint32_t half_m = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1);
    const std::uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half_m & 1u))) ++half_m;
    return static_cast<std::uint16_t>(sign | half_m);
  }
  // Normal: rebias exponent, round mantissa from 23 to 10 bits (nearest even).
  std::uint32_t h = ((abs >> 23) - 112) << 10 | ((abs >> 13) & 0x3ffu);
  const std::uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent: correct
  return static_cast<std::uint16_t>(sign | h);
}

NpyHeader read_npy_header(const std::string& path) {
  if (!fs::exists(path)) throw Error(ErrorKind::not_found, path + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, path + ": cannot open");
  char magic[8] = {};
  in.read(magic, 8);
  if (in.gcount() != 8 || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    bad(path, "not a .npy file (bad magic string)");
  const int major = static_cast<unsigned char>(magic[6]);
  const std::uintmax_t file_size = fs::file_size(path);
  std::size_t header_len = 0;
  std::size_t prefix = 0;
  if (major == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (static_cast<std::size_t>(b[1]) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (static_cast<std::size_t>(b[1]) << 8) | (static_cast<std::size_t>(b[2]) << 16) |
                 (static_cast<std::size_t>(b[3]) << 24);
    prefix = 12;
  } else {
    bad(path, "unsupported .npy format version " + std::to_string(major));
  }
  if (!in) bad(path, "truncated .npy header");
  // The declared length comes from the file: compare it with the file before allocating it.
  if (file_size < prefix || header_len > file_size - prefix)
    bad(path, "truncated .npy header: header length " + std::to_string(header_len) + " exceeds the file's " +
                  std::to_string(file_size) + " bytes");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  if (static_cast<std::size_t>(in.gcount()) != header_len) bad(path, "truncated .npy header");

  NpyHeader h;
  std::string descr = dict_value(header, "descr", path);
  if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"'))
    descr = descr.substr(1, descr.size() - 2);
  if (descr == "<f4") {
    h.dtype = NpyDtype::float32;
  } else if (descr == "<f2") {
    h.dtype = NpyDtype::float16;
  } else {
    bad(path, "unsupported dtype '" + descr + "' (expected little-endian float32 '<f4' or float16 '<f2'; " +
                  "convert with arr.astype(np.float32))");
  }
  const std::string fortran = dict_value(header, "fortran_order", path);
  if (fortran == "True") bad(path, "Fortran-order arrays are not supported (save np.ascontiguousarray(arr))");
  if (fortran != "False") bad(path, "npy header has a malformed fortran_order " + fortran);
  const auto shape_text = dict_value(header, "shape", path);
  const auto dims = parse_shape(shape_text, path);
  if (dims.size() != 2) bad(path, "expected a 2-D array (rows, dim), got shape " + shape_text);
  h.rows = dims[0];
  h.cols = dims[1];
  h.data_offset = prefix + header_len;
  std::size_t data_bytes = 0;
  std::size_t need = 0;
  if (__builtin_mul_overflow(h.rows, h.cols, &data_bytes) ||
      __builtin_mul_overflow(data_bytes, item_size(h.dtype), &data_bytes) ||
      __builtin_add_overflow(h.data_offset, data_bytes, &need))
    bad(path, "npy header field 'shape' " + shape_text + " is too large (rows * cols * itemsize overflows)");
  if (file_size < need)
    bad(path, "file is truncated: shape " + shape_text + " needs " + std::to_string(need) +
                  " bytes, file has " + std::to_string(file_size));
  return h;
}

FloatMatrix read_npy(const std::string& path) {
  const NpyHeader h = read_npy_header(path);
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(h.data_offset));
  FloatMatrix m;
  m.rows = h.rows;
  m.cols = h.cols;
  m.values.resize(h.rows * h.cols);
  const std::size_t n = m.values.size();
  if (h.dtype == NpyDtype::float32) {
    in.read(reinterpret_cast<char*>(m.values.data()), static_cast<std::streamsize>(n * 4));
  } else {
    std::vector<std::uint16_t> raw(n);
    in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(n * 2));
    for (std::size_t i = 0; i < n; ++i) m.values[i] = half_to_float(raw[i]);
  }
  if (!in) throw Error(ErrorKind::io, path + ": read failed");
  return m;
}

struct NpyRowReader::Impl {
  std::string path;
  NpyHeader header;
  std::ifstream in;
  std::vector<std::uint16_t> half;  // float16 staging, reused between reads
};

NpyRowReader::NpyRowReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->header = read_npy_header(path);
  impl_->in.open(path, std::ios::binary);
  if (!impl_->in) throw Error(ErrorKind::io, path + ": cannot open");
}
NpyRowReader::NpyRowReader(NpyRowReader&&) noexcept = default;
NpyRowReader& NpyRowReader::operator=(NpyRowReader&&) noexcept = default;
NpyRowReader::~NpyRowReader() = default;

const std::string& NpyRowReader::path() const {
  return impl_->path;
}
const NpyHeader& NpyRowReader::header() const {
  return impl_->header;
}

void NpyRowReader::read_rows(std::size_t first, std::size_t n, std::span<float> out) {
  const NpyHeader& h = impl_->header;
  if (first > h.rows || n > h.rows - first)
    bad(impl_->path, "rows " + std::to_string(first) + ".." + std::to_string(first + n) +
                         " requested, the file has " + std::to_string(h.rows));
  // rows * cols * itemsize fits (read_npy_header checked it), so these products do too.
  const std::size_t n_values = n * h.cols;
  if (out.size() != n_values)
    bad(impl_->path, std::to_string(out.size()) + " values of room for " + std::to_string(n) + " rows of " +
                         std::to_string(h.cols));
  if (n_values == 0) return;
  const std::size_t item = item_size(h.dtype);
  auto& in = impl_->in;
  in.clear();
  in.seekg(static_cast<std::streamoff>(h.data_offset + first * h.cols * item));
  if (h.dtype == NpyDtype::float32) {
    in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(n_values * 4));
  } else {
    auto& raw = impl_->half;
    raw.resize(n_values);
    in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(n_values * 2));
    for (std::size_t i = 0; i < n_values; ++i) out[i] = half_to_float(raw[i]);
  }
  if (!in) throw Error(ErrorKind::io, impl_->path + ": read failed at row " + std::to_string(first));
}

FloatMatrix NpyRowReader::read_rows(std::size_t first, std::size_t n) {
  FloatMatrix m;
  m.rows = n;
  m.cols = cols();
  // Checked before allocating: a range past the end must not allocate its size first.
  if (first > rows() || n > rows() - first) read_rows(first, n, {});
  m.values.resize(n * m.cols);
  read_rows(first, n, m.values);
  return m;
}

void write_npy(const std::string& path, const FloatMatrix& m, NpyDtype dtype) {
  if (m.values.size() != m.rows * m.cols)
    throw Error(ErrorKind::invalid_argument,
                path + ": matrix has " + std::to_string(m.values.size()) +
                    " values, expected rows*cols = " + std::to_string(m.rows * m.cols));
  std::string dict = "{'descr': '" + std::string(dtype == NpyDtype::float32 ? "<f4" : "<f2") +
                     "', 'fortran_order': False, 'shape': (" + std::to_string(m.rows) + ", " +
                     std::to_string(m.cols) + "), }";
  // Pad with spaces so the data starts at a multiple of 64 bytes; the header ends in '\n'.
  std::size_t total = 10 + dict.size() + 1;
  const std::size_t pad = (64 - total % 64) % 64;
  dict.append(pad, ' ');
  dict.push_back('\n');
  if (dict.size() > 65535) throw Error(ErrorKind::invalid_argument, path + ": npy header too long");
  AtomicFile f(path, true);
  auto& out = f.stream();
  out.write("\x93NUMPY\x01\x00", 8);
  const char len[2] = {static_cast<char>(dict.size() & 0xff), static_cast<char>(dict.size() >> 8)};
  out.write(len, 2);
  out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
  if (dtype == NpyDtype::float32) {
    out.write(reinterpret_cast<const char*>(m.values.data()),
              static_cast<std::streamsize>(m.values.size() * 4));
  } else {
    std::vector<std::uint16_t> raw(m.values.size());
    for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = float_to_half(m.values[i]);
    out.write(reinterpret_cast<const char*>(raw.data()), static_cast<std::streamsize>(raw.size() * 2));
  }
  f.commit();
}

std::vector<std::string> read_ids(const std::string& path) {
  if (!fs::exists(path)) throw Error(ErrorKind::not_found, path + ": no such ids file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, path + ": cannot open");
  std::vector<std::string> ids;
  std::unordered_set<std::string> seen;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    require_utf8(line, path, line_no);
    if (line.empty()) {
      // A trailing empty line is only a final newline artefact if nothing follows.
      if (in.peek() == std::char_traits<char>::eof()) break;
      bad(path + ":" + std::to_string(line_no), "empty id");
    }
    if (!seen.insert(line).second) bad(path + ":" + std::to_string(line_no), "duplicate id '" + line + "'");
    ids.push_back(line);
  }
  return ids;
}

void write_ids(const std::string& path, const std::vector<std::string>& ids) {
  std::string text;
  for (const auto& id : ids) {
    if (id.empty() || id.find_first_of("\r\n") != std::string::npos)
      throw Error(ErrorKind::invalid_argument, path + ": id '" + id + "' is empty or contains a line break");
    text += id;
    text += '\n';
  }
  write_file_atomic(path, text);
}

std::string ids_path_for(const std::string& npy_path) {
  fs::path p(npy_path);
  p.replace_extension(".ids");
  return p.string();
}

Embeddings read_embeddings(const std::string& npy_path) {
  Embeddings e;
  e.matrix = read_npy(npy_path);
  const auto ids_path = ids_path_for(npy_path);
  e.ids = read_ids(ids_path);
  if (e.ids.size() != e.matrix.rows)
    throw Error(ErrorKind::invalid_argument, npy_path + " has " + std::to_string(e.matrix.rows) +
                                                 " rows but " + ids_path + " has " +
                                                 std::to_string(e.ids.size()) + " ids");
  return e;
}

void write_embeddings(const std::string& npy_path, const Embeddings& e, NpyDtype dtype) {
  if (e.ids.size() != e.matrix.rows)
    throw Error(ErrorKind::invalid_argument, npy_path + ": " + std::to_string(e.matrix.rows) + " rows but " +
                                                 std::to_string(e.ids.size()) + " ids");
  write_npy(npy_path, e.matrix, dtype);
  write_ids(ids_path_for(npy_path), e.ids);
}

}  // namespace georank
