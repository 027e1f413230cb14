#include <gtest/gtest.h>

#include "georank/runtime.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  georank::init_runtime();
  return RUN_ALL_TESTS();
}
