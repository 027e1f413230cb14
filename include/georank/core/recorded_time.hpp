#pragma once
/// The wall-clock facts outputs record: durations and creation times. With
/// GEORANK_REPRODUCIBLE=1 they are fixed (durations 0, times from SOURCE_DATE_EPOCH, else the
/// epoch), so two runs of the same command, or a sharded run and its `georank merge`, write the
/// same bytes. Progress lines and logs keep the real clock.

#include <chrono>
#include <string>

namespace georank {

/// Whether GEORANK_REPRODUCIBLE is set to a value other than "" or "0".
bool reproducible_outputs();

/// `seconds` as a sidecar records it: 0 in reproducible mode.
double recorded_seconds(double seconds);
/// Seconds from `start` to now, as a sidecar records them.
double recorded_seconds_since(std::chrono::steady_clock::time_point start);

/// The current UTC time as "YYYY-MM-DDTHH:MM:SSZ"; in reproducible mode SOURCE_DATE_EPOCH's
/// time (or 1970-01-01T00:00:00Z).
std::string recorded_utc_now();

}  // namespace georank
