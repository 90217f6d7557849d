# PQClean's clean (portable C) ML-KEM-768/1024 and ML-DSA-65/87, from the npm registry's
# `pqclean` package pinned in third_party/package-lock.json (version and integrity hash).
# setup.sh installs it into third_party/node_modules with `npm ci --ignore-scripts`; nothing of it
# is committed. Only src/crypto links ferry_pqclean; docs/crypto.md says why this backend.
set(FERRY_PQCLEAN_DIR "${PROJECT_SOURCE_DIR}/third_party/node_modules/pqclean/deps/PQClean"
    CACHE PATH "PQClean sources (the npm package pqclean's deps/PQClean)")
if(NOT EXISTS "${FERRY_PQCLEAN_DIR}/crypto_kem/ml-kem-768/clean/kem.c")
  message(FATAL_ERROR
    "ferry: PQClean sources not found at ${FERRY_PQCLEAN_DIR}.\n"
    "They come from the npm package pqclean pinned in third_party/package-lock.json: run "
    "./setup.sh build (it runs `npm ci --prefix third_party --ignore-scripts`), or set "
    "-DFERRY_PQCLEAN_DIR=/path/to/PQClean.")
endif()
file(READ "${PROJECT_SOURCE_DIR}/third_party/node_modules/pqclean/package.json" _pqclean_json)
string(JSON FERRY_PQCLEAN_VERSION GET "${_pqclean_json}" version)
message(STATUS "ferry: PQClean from npm pqclean ${FERRY_PQCLEAN_VERSION} at ${FERRY_PQCLEAN_DIR}")

if(FERRY_CCACHE)
  set(CMAKE_C_COMPILER_LAUNCHER "${FERRY_CCACHE}")
endif()

# PQClean's own shared code, less its randombytes.c: src/crypto/random.cc provides randombytes()
# from OpenSSL's DRBG (and the seeded form the known-answer tests use).
add_library(ferry_pqclean_common OBJECT "${FERRY_PQCLEAN_DIR}/common/fips202.c")
target_include_directories(ferry_pqclean_common PUBLIC "${FERRY_PQCLEAN_DIR}/common")

set(_pqclean_objects $<TARGET_OBJECTS:ferry_pqclean_common>)
foreach(scheme crypto_kem/ml-kem-768 crypto_kem/ml-kem-1024 crypto_sign/ml-dsa-65
               crypto_sign/ml-dsa-87)
  string(REGEX REPLACE ".*/" "" name "${scheme}")
  string(REPLACE "-" "_" name "${name}")
  file(GLOB sources "${FERRY_PQCLEAN_DIR}/${scheme}/clean/*.c")
  add_library(ferry_pqclean_${name} OBJECT ${sources})
  # Each scheme includes its own params.h, so each is its own object library.
  target_include_directories(ferry_pqclean_${name} PRIVATE "${FERRY_PQCLEAN_DIR}/${scheme}/clean"
                                                          "${FERRY_PQCLEAN_DIR}/common")
  list(APPEND _pqclean_objects $<TARGET_OBJECTS:ferry_pqclean_${name}>)
endforeach()
foreach(target ferry_pqclean_common ferry_pqclean_ml_kem_768 ferry_pqclean_ml_kem_1024
               ferry_pqclean_ml_dsa_65 ferry_pqclean_ml_dsa_87)
  set_target_properties(${target} PROPERTIES C_STANDARD 99 POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${target} PRIVATE -O3 -w)
  if(FERRY_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
  endif()
endforeach()
add_library(ferry_pqclean STATIC ${_pqclean_objects})
target_include_directories(ferry_pqclean INTERFACE "${FERRY_PQCLEAN_DIR}")
target_compile_definitions(ferry_pqclean INTERFACE
  FERRY_PQCLEAN_VERSION="${FERRY_PQCLEAN_VERSION}")
