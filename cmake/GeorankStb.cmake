# stb_image / stb_image_write headers: GEORANK_STB_DIR and GEORANK_STB_IMAGE_VERSION.
#
# The runtime prefix's copy (Debian unstable, stb_image 2.30) is preferred wherever the prefix
# exists: Debian 12's 2.27 writes past its Huffman tables and shifts by negative amounts on
# corrupt JPEGs (fuzzing finds both within seconds); 2.28 fixed those. The image decoder also
# refuses malformed Huffman tables itself (src/data/image_header.cpp). Set
# GEORANK_STB_PREFIX to the prefix folder before including this file.
if(GEORANK_STB_PREFIX AND EXISTS "${GEORANK_STB_PREFIX}/usr/include/stb/stb_image.h")
  set(GEORANK_STB_DIR "${GEORANK_STB_PREFIX}/usr/include/stb")
else()
  find_path(GEORANK_STB_SYSTEM_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)
  set(GEORANK_STB_DIR "${GEORANK_STB_SYSTEM_DIR}")
endif()
file(STRINGS "${GEORANK_STB_DIR}/stb_image.h" _stb_first LIMIT_COUNT 1)
string(REGEX MATCH "v([0-9]+\\.[0-9]+)" _stb_match "${_stb_first}")
set(GEORANK_STB_IMAGE_VERSION "${CMAKE_MATCH_1}")
if(GEORANK_STB_IMAGE_VERSION VERSION_LESS 2.28)
  message(WARNING "stb_image ${GEORANK_STB_IMAGE_VERSION} (${GEORANK_STB_DIR}) has known memory-safety "
                  "defects on corrupt JPEGs; use 2.28 or newer (scripts/setup puts 2.30 in the runtime prefix)")
else()
  message(STATUS "stb_image ${GEORANK_STB_IMAGE_VERSION}: ${GEORANK_STB_DIR}")
endif()
