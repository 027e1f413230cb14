#pragma once
/// NumPy `.npy` files for embedding matrices, and the ids files that name their rows.
///
/// Supported: 2-D arrays of little-endian float32 (`<f4`) or float16 (`<f2`) in C order.
/// Writing produces format version 1.0; reading accepts versions 1.0, 2.0 and 3.0. Float16 is
/// converted to float32 on reading (exactly) and rounded to nearest-even on writing.
///
/// An ids file is UTF-8 text with one id per line in row order (`Q.npy` + `Q.ids`). For VIGOR
/// the id is the panorama's or tile's file name.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace georank {

enum class NpyDtype {
  float32,  ///< "<f4"
  float16,  ///< "<f2"
};

/// Dense row-major float matrix: element (r, c) is `values[r * cols + c]`.
struct FloatMatrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<float> values;

  [[nodiscard]] std::span<const float> row(std::size_t r) const { return {values.data() + r * cols, cols}; }
  [[nodiscard]] std::span<float> row(std::size_t r) { return {values.data() + r * cols, cols}; }
};

/// What a `.npy` header declares.
struct NpyHeader {
  NpyDtype dtype = NpyDtype::float32;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t data_offset = 0;  ///< byte offset of the first element in the file
};

/// Reads and validates the header only. Throws Error(not_found) for a missing file and
/// Error(invalid_argument) naming the file for a bad magic string, an unsupported dtype or
/// version, Fortran order, a shape that is not 2-D, or a file shorter than the header claims.
NpyHeader read_npy_header(const std::string& path);

/// Reads a 2-D float32/float16 `.npy` file into float32. Errors as `read_npy_header`.
FloatMatrix read_npy(const std::string& path);

/// Reads row ranges of a 2-D `.npy` file on demand, converting float16 to float32, so that a
/// file larger than memory can be streamed (index building over city-scale galleries). The file
/// stays open for the reader's lifetime. Move-only; use from one thread at a time.
class NpyRowReader {
 public:
  /// Opens `path` and reads its header. Errors as `read_npy_header`; Error(io) when it cannot be
  /// opened.
  explicit NpyRowReader(const std::string& path);
  NpyRowReader(NpyRowReader&&) noexcept;
  NpyRowReader& operator=(NpyRowReader&&) noexcept;
  ~NpyRowReader();

  [[nodiscard]] const std::string& path() const;
  [[nodiscard]] const NpyHeader& header() const;
  [[nodiscard]] std::size_t rows() const { return header().rows; }
  [[nodiscard]] std::size_t cols() const { return header().cols; }

  /// Reads rows [first, first + n) into `out`, which must hold exactly n * cols() values
  /// (row-major). Throws Error(invalid_argument) naming the file when the range passes the last
  /// row or `out` has another size, Error(io) when reading fails.
  void read_rows(std::size_t first, std::size_t n, std::span<float> out);
  /// The same rows as an n x cols() matrix.
  [[nodiscard]] FloatMatrix read_rows(std::size_t first, std::size_t n);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Writes `m` as a version-1.0 `.npy` file in the given dtype (temporary file + rename).
/// Throws Error(invalid_argument) when `values.size() != rows * cols`, Error(io) on failure.
void write_npy(const std::string& path, const FloatMatrix& m, NpyDtype dtype = NpyDtype::float32);

/// Reads an ids file: one id per line; a final newline is optional, "\r\n" is accepted.
/// Throws Error(invalid_argument) naming `file:line` for an empty line or a duplicate id.
std::vector<std::string> read_ids(const std::string& path);
/// Writes an ids file (temporary file + rename). Throws Error(invalid_argument) for an id that
/// is empty or contains a line break.
void write_ids(const std::string& path, const std::vector<std::string>& ids);

/// The ids file beside an `.npy` file: "dir/Q.npy" -> "dir/Q.ids".
std::string ids_path_for(const std::string& npy_path);

/// Embeddings: a matrix plus the id of each row.
struct Embeddings {
  std::vector<std::string> ids;
  FloatMatrix matrix;
};

/// Reads `npy_path` and the ids file beside it; throws Error(invalid_argument) naming both
/// files when the row count differs from the number of ids.
Embeddings read_embeddings(const std::string& npy_path);
/// Writes `npy_path` and the ids file beside it.
void write_embeddings(const std::string& npy_path, const Embeddings& e, NpyDtype dtype = NpyDtype::float32);

/// IEEE 754 half <-> single conversion (round to nearest even; overflow gives infinity).
float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);

}  // namespace georank
