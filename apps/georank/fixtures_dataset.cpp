#include <fmt/format.h>

#include <memory>

#include "checked_number.hpp"
#include "commands.hpp"
#include "georank/fixtures/synthetic_vigor.hpp"

namespace georank::cli {

void add_fixtures_dataset(CLI::App& fixtures) {
  auto* cmd = fixtures.add_subcommand(
      "dataset",
      "Write a small synthetic dataset in the official VIGOR tree and label format (test city + train city)");
  auto cfg = std::make_shared<SyntheticVigorConfig>();
  cmd->add_option("--out", cfg->out_dir, "Output directory (the VIGOR root)")->required();
  cmd->add_option("--queries", cfg->n_queries, "Panoramas of the test city")->capture_default_str();
  cmd->add_option("--train-queries", cfg->n_train_queries,
                  "Panoramas of the train city (0: max(4, queries/4))")
      ->capture_default_str();
  cmd->add_option("--seed", cfg->seed, "Seed; the output is a pure function of the options")
      ->check(fits_64_bits(false))
      ->capture_default_str();
  cmd->add_option("--tile-px", cfg->tile_px, "Aerial tile size in pixels")->capture_default_str();
  cmd->add_option("--pano-width", cfg->pano_width, "Panorama width in pixels (height = width/2)")
      ->capture_default_str();
  cmd->add_option("--test-city", cfg->test_city, "Name of the test city")->capture_default_str();
  cmd->add_option("--train-city", cfg->train_city, "Name of the train city")->capture_default_str();
  cmd->callback([cfg] {
    const auto s = write_synthetic_vigor(*cfg);
    fmt::print(
        "wrote synthetic VIGOR-format dataset to {}: {} {} queries / {} tiles (test), {} {} queries / {} "
        "tiles "
        "(train); synthetic images, not real-world data\n",
        cfg->out_dir, cfg->test_city, s.n_test_queries, s.n_test_tiles, cfg->train_city, s.n_train_queries,
        s.n_train_tiles);
  });
}

}  // namespace georank::cli
