#pragma once
/// Base64 (RFC 4648, standard alphabet, padded): image data in JSON requests and data: URIs.

#include <cstdint>
#include <span>
#include <string>

namespace georank {

std::string base64_encode(std::span<const std::uint8_t> bytes);

}  // namespace georank
