#include "georank/retrieval/npy.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "georank/core/error.hpp"
#include "support/subprocess.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

std::string work_dir(const std::string& name) {
  const auto dir = fs::path(test::scratch_root()) / "npy" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

int run_python(const std::string& dir, const std::string& code) {
  const auto script = dir + "/script.py";
  std::ofstream(script) << code;
  return std::system((std::string(GEORANK_PYTHON) + " " + script + " > " + dir + "/py.log 2>&1").c_str());
}

void expect_error_mentions(const std::string& path, const std::string& what) {
  try {
    (void)read_npy(path);
    ADD_FAILURE() << "no error for " << path;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

TEST(Npy, ReadsFloat32AndFloat16WrittenByNumpy) {
  const auto dir = work_dir("numpy_read");
  ASSERT_EQ(run_python(dir,
                       "import numpy as np\n"
                       "a = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) / 3\n"
                       "np.save('" +
                           dir +
                           "/f32.npy', a)\n"
                           "np.save('" +
                           dir +
                           "/f16.npy', a.astype(np.float16))\n"
                           "np.save('" +
                           dir + "/empty.npy', np.zeros((0, 7), np.float32))\n"),
            0);
  const auto f32 = read_npy(dir + "/f32.npy");
  ASSERT_EQ(f32.rows, 3u);
  ASSERT_EQ(f32.cols, 4u);
  for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(f32.values[i], (static_cast<float>(i) - 5.5f) / 3.0f);
  const auto f16 = read_npy(dir + "/f16.npy");
  ASSERT_EQ(f16.rows, 3u);
  for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(f16.values[i], half_to_float(float_to_half(f32.values[i])));
  const auto empty = read_npy(dir + "/empty.npy");
  EXPECT_EQ(empty.rows, 0u);
  EXPECT_EQ(empty.cols, 7u);
}

TEST(Npy, FilesWeWriteAreReadByNumpyWithTheSameValues) {
  const auto dir = work_dir("numpy_write");
  FloatMatrix m{2, 3, {1.0f, -2.5f, 3.25f, 1e-3f, 65504.0f, -0.0f}};
  write_npy(dir + "/a32.npy", m);
  write_npy(dir + "/a16.npy", m, NpyDtype::float16);
  ASSERT_EQ(run_python(dir,
                       "import numpy as np\n"
                       "a = np.load('" +
                           dir + "/a32.npy'); b = np.load('" + dir +
                           "/a16.npy')\n"
                           "assert a.dtype == np.float32 and a.shape == (2, 3), (a.dtype, a.shape)\n"
                           "assert b.dtype == np.float16 and b.shape == (2, 3), (b.dtype, b.shape)\n"
                           "ref = np.array([[1, -2.5, 3.25], [1e-3, 65504, -0.0]], np.float32)\n"
                           "assert (a == ref).all()\n"
                           "assert (b == ref.astype(np.float16)).all(), b\n"),
            0);
}

TEST(Npy, HalfConversionMatchesNumpyOnEveryHalfAndOnRoundingCases) {
  const auto dir = work_dir("half");
  // numpy converts all 65536 half bit patterns to float32 and rounds a float32 sweep to half.
  ASSERT_EQ(
      run_python(dir,
                 "import numpy as np\n"
                 "h = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)\n"
                 "np.save('" +
                     dir +
                     "/h2f.npy', h.astype(np.float32).reshape(256, 256))\n"
                     "rng = np.random.default_rng(0)\n"
                     "f = np.concatenate([rng.standard_normal(4000).astype(np.float32) * "
                     "10.0**rng.integers(-9, 6, 4000),\n"
                     "    h.astype(np.float32)[np.isfinite(h)][:4000] * np.float32(1 + 2**-11),\n"
                     "    np.array([65519, 65520, 1e-8, 2**-25, 3 * 2**-26, 2**-24 * 1.5], np.float32)])\n"
                     "f = f.astype(np.float32)\n"
                     "n = (len(f) // 2) * 2\n"
                     "np.save('" +
                     dir +
                     "/f.npy', f[:n].reshape(2, -1))\n"
                     "np.save('" +
                     dir + "/f2h.npy', f[:n].astype(np.float16).reshape(2, -1))\n"),
      0);
  const auto h2f = read_npy(dir + "/h2f.npy");
  for (std::uint32_t bits = 0; bits < 65536; ++bits) {
    const float mine = half_to_float(static_cast<std::uint16_t>(bits));
    const float ref = h2f.values[bits];
    if (std::isnan(ref)) {
      EXPECT_TRUE(std::isnan(mine)) << bits;
    } else {
      ASSERT_EQ(mine, ref) << "half bits " << bits;
      ASSERT_EQ(std::signbit(mine), std::signbit(ref)) << bits;
    }
  }
  const auto f = read_npy(dir + "/f.npy");
  const auto f2h = read_npy(dir + "/f2h.npy");  // numpy's rounding, read back through half_to_float
  ASSERT_EQ(f.values.size(), f2h.values.size());
  for (std::size_t i = 0; i < f.values.size(); ++i)
    ASSERT_EQ(half_to_float(float_to_half(f.values[i])), f2h.values[i]) << "float " << f.values[i];
}

TEST(Npy, RoundTripsFloat32Exactly) {
  const auto dir = work_dir("roundtrip");
  FloatMatrix m{5, 17, {}};
  for (std::size_t i = 0; i < 85; ++i) m.values.push_back(std::sin(static_cast<float>(i)) * 1e3f);
  write_npy(dir + "/m.npy", m);
  const auto back = read_npy(dir + "/m.npy");
  EXPECT_EQ(back.rows, 5u);
  EXPECT_EQ(back.cols, 17u);
  EXPECT_EQ(back.values, m.values);
  const auto header = read_npy_header(dir + "/m.npy");
  EXPECT_EQ(header.data_offset % 64, 0u);
}

TEST(Npy, RejectsBadFilesNamingTheFileAndTheProblem) {
  const auto dir = work_dir("bad");
  ASSERT_EQ(run_python(dir,
                       "import numpy as np\n"
                       "np.save('" +
                           dir +
                           "/f64.npy', np.zeros((2, 2)))\n"
                           "np.save('" +
                           dir +
                           "/big.npy', np.zeros((2, 2), '>f4'))\n"
                           "np.save('" +
                           dir +
                           "/fortran.npy', np.asfortranarray(np.zeros((2, 3), np.float32)))\n"
                           "np.save('" +
                           dir +
                           "/one_d.npy', np.zeros(5, np.float32))\n"
                           "np.save('" +
                           dir +
                           "/three_d.npy', np.zeros((2, 2, 2), np.float32))\n"
                           "np.save('" +
                           dir + "/ok.npy', np.zeros((4, 4), np.float32))\n"),
            0);
  std::ofstream(dir + "/magic.npy") << "PK\x03\x04 not numpy";
  {
    std::ifstream in(dir + "/ok.npy", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir + "/truncated.npy", std::ios::binary) << bytes.substr(0, bytes.size() - 4);
  }
  expect_error_mentions(dir + "/f64.npy", "'<f8'");
  expect_error_mentions(dir + "/big.npy", "'>f4'");
  expect_error_mentions(dir + "/fortran.npy", "Fortran");
  expect_error_mentions(dir + "/one_d.npy", "2-D");
  expect_error_mentions(dir + "/three_d.npy", "2-D");
  expect_error_mentions(dir + "/magic.npy", "magic");
  expect_error_mentions(dir + "/truncated.npy", "truncated");
  EXPECT_THROW((void)read_npy(dir + "/absent.npy"), Error);
}

// A .npy file written byte by byte: version `major`, the header dict as given (padded with a
// newline), then `n_data_bytes` zero bytes.
std::string write_raw_npy(const std::string& path, int major, const std::string& dict,
                          std::size_t n_data_bytes, std::uint32_t declared_header_len = 0) {
  std::string bytes = "\x93NUMPY";
  bytes.push_back(static_cast<char>(major));
  bytes.push_back('\0');
  const std::string header = dict + "\n";
  const std::uint32_t len =
      declared_header_len != 0 ? declared_header_len : static_cast<std::uint32_t>(header.size());
  const int n_len_bytes = major == 1 ? 2 : 4;
  for (int i = 0; i < n_len_bytes; ++i) bytes.push_back(static_cast<char>((len >> (8 * i)) & 0xffu));
  bytes += header;
  bytes.append(n_data_bytes, '\0');
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(Npy, RejectsShapeDigitsThatOverflowNamingTheShapeField) {
  const auto dir = test::fresh_work_dir("npy_hostile_digits");
  const auto path =
      write_raw_npy(dir + "/digits.npy", 1,
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (184467440737095516160, 4), }", 64);
  expect_error_mentions(path, "'shape'");
}

TEST(Npy, RejectsAShapeWhoseByteCountOverflowsInsteadOfPassingTheSizeCheck) {
  const auto dir = test::fresh_work_dir("npy_hostile_product");
  // 2^62 rows * 4 cols * 4 bytes wraps to 0 in 64 bits: without checked arithmetic the file
  // "fits" and every row() reads out of bounds.
  const auto path =
      write_raw_npy(dir + "/product.npy", 1,
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", 0);
  expect_error_mentions(path, "'shape'");
  try {
    (void)read_npy_header(path);
    ADD_FAILURE() << "no error from the header alone";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
  }
}

TEST(Npy, ComparesAVersion2HeaderLengthWithTheFileBeforeAllocatingIt) {
  const auto dir = test::fresh_work_dir("npy_hostile_header_len");
  for (const int major : {2, 3}) {
    const auto path = write_raw_npy(dir + "/v" + std::to_string(major) + ".npy", major,
                                    "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", 4,
                                    0xfffffff0u);  // declares a ~4 GiB header in a ~90-byte file
    expect_error_mentions(path, "header length 4294967280");
  }
}

TEST(Ids, RoundTripAndAcceptCrLfAndAMissingFinalNewline) {
  const auto dir = work_dir("ids");
  const std::vector<std::string> ids = {"-BAW_D9Fp4GaIA6kB1XnPg,37.785465,-122.397289,.jpg",
                                        "satellite_1.5_2.5.png"};
  write_ids(dir + "/a.ids", ids);
  EXPECT_EQ(read_ids(dir + "/a.ids"), ids);
  std::ofstream(dir + "/b.ids", std::ios::binary) << "x\r\ny";
  EXPECT_EQ(read_ids(dir + "/b.ids"), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(ids_path_for("/d/Q.npy"), "/d/Q.ids");
}

TEST(Ids, RejectEmptyAndDuplicateLinesWithTheirLineNumber) {
  const auto dir = work_dir("ids_bad");
  std::ofstream(dir + "/empty.ids") << "a\n\nb\n";
  std::ofstream(dir + "/dup.ids") << "a\nb\na\n";
  try {
    (void)read_ids(dir + "/empty.ids");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("empty.ids:2"), std::string::npos) << e.what();
  }
  try {
    (void)read_ids(dir + "/dup.ids");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dup.ids:3"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/latin1.ids") << "a\nb\nq\xe9\n";
  try {
    (void)read_ids(dir + "/latin1.ids");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("latin1.ids:3: not valid UTF-8"), std::string::npos) << e.what();
  }
}

TEST(Embeddings, RowCountMustMatchTheIdsFile) {
  const auto dir = work_dir("emb");
  Embeddings e{{"a", "b"}, FloatMatrix{2, 2, {1, 0, 0, 1}}};
  write_embeddings(dir + "/G.npy", e, NpyDtype::float16);
  const auto back = read_embeddings(dir + "/G.npy");
  EXPECT_EQ(back.ids, e.ids);
  EXPECT_EQ(back.matrix.values, e.matrix.values);
  write_ids(dir + "/G.ids", {"a"});
  EXPECT_THROW((void)read_embeddings(dir + "/G.npy"), Error);
}

}  // namespace
}  // namespace georank
