# Locates llama.cpp (libllama + libmtmd), ggml and ONNX Runtime and defines the imported
# target georank::native.
#
# Two modes:
#  * prefix (default when <source>/.deps/runtime exists, made by scripts/setup): the libraries
#    come from Debian unstable packages unpacked into a project-local prefix together with the
#    glibc and libstdc++ they need. Every executable linking georank::native uses the
#    prefix's dynamic loader and finds the prefix's libraries through its run path; nobody
#    sets LD_LIBRARY_PATH.
#  * system: the distribution ships llama.cpp (with mtmd.h) and ONNX Runtime >= 1.20.
#
# Exposes GEORANK_RUNTIME_MODE ("prefix" or "system"), GEORANK_RUNTIME_PREFIX and
# GEORANK_GGML_BACKEND_DIR, also as compile definitions of georank::native.

set(GEORANK_RUNTIME_PREFIX "${PROJECT_SOURCE_DIR}/.deps/runtime"
    CACHE PATH "Runtime prefix made by scripts/setup (ignored when it does not exist)")
option(GEORANK_USE_SYSTEM_RUNTIME "Use the system's llama.cpp and ONNX Runtime" OFF)

set(_arch_dir "x86_64-linux-gnu")
if(NOT GEORANK_USE_SYSTEM_RUNTIME AND EXISTS "${GEORANK_RUNTIME_PREFIX}/usr/include/llama.h")
  set(GEORANK_RUNTIME_MODE "prefix")
  set(_inc "${GEORANK_RUNTIME_PREFIX}/usr/include")
  set(_lib "${GEORANK_RUNTIME_PREFIX}/usr/lib/${_arch_dir}")
  set(_hints NO_DEFAULT_PATH PATHS "${_lib}")
  set(GEORANK_GGML_BACKEND_DIR "${_lib}/ggml/backends0")
  set(GEORANK_LLAMA_SERVER "${GEORANK_RUNTIME_PREFIX}/usr/bin/llama-server")
else()
  set(GEORANK_RUNTIME_MODE "system")
  find_path(_inc llama.h REQUIRED)
  find_path(_mtmd_inc mtmd.h REQUIRED)
  set(_hints)
  set(GEORANK_RUNTIME_PREFIX "")
  find_path(GEORANK_GGML_BACKEND_DIR NAMES libggml-cpu-x64.so libggml-cpu.so
            PATH_SUFFIXES ggml/backends0 ggml lib/ggml)
  if(NOT GEORANK_GGML_BACKEND_DIR)
    set(GEORANK_GGML_BACKEND_DIR "")
  endif()
  find_program(GEORANK_LLAMA_SERVER llama-server)
endif()

find_path(_ort_inc onnxruntime_cxx_api.h
          PATHS "${_inc}/onnxruntime" "/usr/include/onnxruntime" "/usr/local/include/onnxruntime"
          REQUIRED)
foreach(_name llama mtmd ggml ggml-base onnxruntime)
  string(MAKE_C_IDENTIFIER "${_name}" _var)
  find_library(GEORANK_LIB_${_var} NAMES ${_name} ${_hints} REQUIRED)
  list(APPEND _libs "${GEORANK_LIB_${_var}}")
endforeach()

add_library(georank_native INTERFACE)
add_library(georank::native ALIAS georank_native)
target_include_directories(georank_native SYSTEM INTERFACE "${_inc}" "${_ort_inc}")
# --no-as-needed: libllama carries its own RUNPATH, which makes the loader ignore the
# executable's run path for libllama's dependencies; listing ggml, ggml-base, mtmd and
# onnxruntime as NEEDED of the executable loads them from the right place first.
target_link_libraries(georank_native INTERFACE "-Wl,--no-as-needed" ${_libs} "-Wl,--as-needed")
target_compile_definitions(georank_native INTERFACE
  GEORANK_RUNTIME_MODE="${GEORANK_RUNTIME_MODE}"
  GEORANK_RUNTIME_PREFIX="${GEORANK_RUNTIME_PREFIX}"
  GEORANK_GGML_BACKEND_DIR="${GEORANK_GGML_BACKEND_DIR}"
  GEORANK_LLAMA_SERVER="${GEORANK_LLAMA_SERVER}")
if(GEORANK_RUNTIME_MODE STREQUAL "prefix")
  # The prefix's libraries need glibc 2.43 / GCC 16's libstdc++: run every executable under
  # the prefix's loader, and let the linker accept their newer symbol versions.
  target_link_options(georank_native INTERFACE
    "LINKER:--dynamic-linker=${_lib}/ld-linux-x86-64.so.2"
    "LINKER:-rpath,${_lib}"
    "LINKER:--allow-shlib-undefined")
endif()
message(STATUS "georank runtime: ${GEORANK_RUNTIME_MODE} ${GEORANK_RUNTIME_PREFIX}")
