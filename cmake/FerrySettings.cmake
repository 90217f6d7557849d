# The one INTERFACE target every ferry target links: language mode, warnings, sanitizers.
add_library(ferry_settings INTERFACE)
target_compile_features(ferry_settings INTERFACE cxx_std_23)
set(CMAKE_CXX_EXTENSIONS OFF)
target_compile_options(ferry_settings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
  -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(FERRY_WERROR)
  target_compile_options(ferry_settings INTERFACE -Werror)
endif()
if(FERRY_SANITIZE)
  target_compile_options(ferry_settings INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(ferry_settings INTERFACE -fsanitize=address,undefined)
endif()
target_include_directories(ferry_settings INTERFACE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(ferry_settings INTERFACE FERRY_VERSION="${PROJECT_VERSION}")

# ferry_module(NAME SOURCES ... DEPS ...): one static library per module.
function(ferry_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(ferry_${name} STATIC ${M_SOURCES})
  target_link_libraries(ferry_${name} PUBLIC ferry_settings ${M_DEPS})
endfunction()

# ferry_test(NAME SOURCES ... DEPS ... [LABELS ...]): one GoogleTest binary, registered with CTest.
function(ferry_test name)
  if(NOT FERRY_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ferry_settings ${T_DEPS} GTest::gmock GTest::gtest_main)
  # One CTest test per binary, not per test case: a binary starts its database servers once and
  # shares them between its cases, which a process per case would repeat dozens of times.
  add_test(NAME ${name} COMMAND ${name} --gtest_color=no)
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT 900)
endfunction()
