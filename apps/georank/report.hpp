#pragma once
// `georank report`, also the last step of `georank run` and `georank demo`.

#include <string>

#include "georank/eval/report.hpp"

namespace georank::cli {

/// Writes the report of a run folder and prints its headline numbers and where it is.
ReportResult report_run(const std::string& run_dir, const ReportConfig& config = {});

}  // namespace georank::cli
