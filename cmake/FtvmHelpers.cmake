# One helper per kind of target, so every target gets the same flags.

set(FTVM_WARNINGS -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wformat=2
    -Wimplicit-fallthrough)
if(FTVM_WERROR)
  list(APPEND FTVM_WARNINGS -Werror)
endif()

if(FTVM_SANITIZE)
  add_compile_options(-fsanitize=${FTVM_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${FTVM_SANITIZE})
endif()

if(FTVM_FUZZ)
  # Coverage instrumentation for every library linked into a fuzzer.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

function(ftvm_apply_flags target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${FTVM_WARNINGS}>)
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
endfunction()

# ftvm_library(NAME rdma SOURCES a.cc b.cc DEPS ftvm::base PRIVATE_DEPS ibverbs)
# Creates static library ftvm_<NAME> with alias ftvm::<NAME>.
function(ftvm_library)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(ftvm_${ARG_NAME} STATIC ${ARG_SOURCES})
  add_library(ftvm::${ARG_NAME} ALIAS ftvm_${ARG_NAME})
  ftvm_apply_flags(ftvm_${ARG_NAME})
  target_link_libraries(ftvm_${ARG_NAME} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# ftvm_test(NAME rdma_conformance SOURCES x_test.cc DEPS ftvm::rdma LABELS unit
#           [TIMEOUT 120] [ENV VAR=value ...])
# LABELS: unit (runs anywhere), threads (also run under TSan), kvm (needs /dev/kvm),
# rdma (needs a verbs device), e2e (several processes). Each test binary registers one ctest entry.
function(ftvm_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SOURCES;DEPS;LABELS;ENV" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  ftvm_apply_flags(${ARG_NAME})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME} --gtest_color=no)
  set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
                       SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\] [1-9]")
  if(ARG_ENV)
    set_tests_properties(${ARG_NAME} PROPERTIES ENVIRONMENT "${ARG_ENV}")
  endif()
  # Per-label build targets (tests_unit, tests_threads, ...) so sanitizer builds compile only
  # what they run.
  foreach(label ${ARG_LABELS})
    set_property(GLOBAL APPEND PROPERTY FTVM_TESTS_${label} ${ARG_NAME})
  endforeach()
endfunction()

# Called once after every test folder: defines tests_<label> for each label in use.
function(ftvm_label_targets)
  foreach(label unit threads kvm rdma e2e)
    get_property(targets GLOBAL PROPERTY FTVM_TESTS_${label})
    if(targets)
      add_custom_target(tests_${label} DEPENDS ${targets})
    else()
      add_custom_target(tests_${label})
    endif()
  endforeach()
endfunction()

# ftvm_bench(NAME channel_bench SOURCES x.cc DEPS ftvm::rdma)  (google benchmark main)
function(ftvm_bench)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  ftvm_apply_flags(${ARG_NAME})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} benchmark::benchmark)
endfunction()

# ftvm_fuzzer(NAME wire_fuzz SOURCES x_fuzz.cc DEPS ftvm::rdma)  (only with FTVM_FUZZ, clang)
function(ftvm_fuzzer)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  ftvm_apply_flags(${ARG_NAME})
  target_compile_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer)
  target_link_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  set_property(GLOBAL APPEND PROPERTY FTVM_FUZZERS ${ARG_NAME})
endfunction()

# Called once after every ftvm_fuzzer(...): the `fuzzers` target builds them all.
function(ftvm_fuzzers_target)
  get_property(targets GLOBAL PROPERTY FTVM_FUZZERS)
  add_custom_target(fuzzers DEPENDS ${targets})
endfunction()
