#pragma once
/// Base64 (RFC 4648, standard alphabet, padded): image data in JSON requests and data: URIs.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace georank {

std::string base64_encode(std::span<const std::uint8_t> bytes);
/// Decodes standard Base64, padded or not; line breaks (CR, LF) are skipped. Throws
/// Error(invalid_argument) naming `what` and the offset of the first other character outside
/// the alphabet, misplaced padding or a dangling final character.
std::vector<std::uint8_t> base64_decode(std::string_view text, const std::string& what = "base64");

}  // namespace georank
