# LeakSanitizer's exit-time check stops the process with ptrace from a helper
# it forks; where ptrace is refused (containers under a seccomp profile,
# sandboxes) it fails, or spins at 100 % of a core for ever. So whether the
# sanitizer builds check leaks is decided here, once, by a probe: a tiny
# program built with -fsanitize=address that leaks 64 bytes on purpose, run
# with detect_leaks=1 under a time limit. It must report that leak; a hang,
# a crash or a missing report turns leak checking off (valgrind then covers
# leaks: the memcheck tests of the builds without sanitizers,
# tests/CMakeLists.txt and tests/interop/valgrind_cells.cmake). Included by
# every configuration: the builds without sanitizers need the answer too.
#
# Sets the cache variables
#   IOTLS_LSAN        ON when LeakSanitizer works here (-DIOTLS_LSAN=ON/OFF
#                     skips the probe and decides by hand)
#   IOTLS_LSAN_NOTE   one line saying what was chosen and why (make test-asan
#                     and make fuzz print it)
# and IOTLS_ASAN_OPTIONS, the ASAN_OPTIONS every test of a sanitizer build
# runs with (iotls_sanitizer_test_env() below puts it on them).
if(NOT DEFINED IOTLS_LSAN)
  set(probe_dir ${CMAKE_BINARY_DIR}/lsan-probe)
  file(MAKE_DIRECTORY ${probe_dir})
  file(WRITE ${probe_dir}/leak.c
    "#include <stdlib.h>\n"
    "void *volatile kept;\n"
    "int main(void)\n{\n    kept = malloc(64); /* lost on purpose */\n    kept = 0;\n    return 0;\n}\n")
  execute_process(COMMAND ${CMAKE_C_COMPILER} -fsanitize=address -g leak.c -o leak
                  WORKING_DIRECTORY ${probe_dir}
                  RESULT_VARIABLE cc_rc OUTPUT_VARIABLE cc_out ERROR_VARIABLE cc_out)
  set(lsan OFF)
  if(NOT cc_rc EQUAL 0)
    string(REGEX REPLACE "\n.*" "" cc_out "${cc_out}")
    set(why "the probe does not build with -fsanitize=address (${cc_out})")
  else()
    # timeout(1) with a KILL after the TERM: a spinning leak check ignores
    # nothing, but it must not outlive the probe.
    find_program(IOTLS_TIMEOUT_PROGRAM timeout REQUIRED)
    set(saved_asan "$ENV{ASAN_OPTIONS}")
    set(saved_lsan "$ENV{LSAN_OPTIONS}")
    set(ENV{ASAN_OPTIONS} "detect_leaks=1")
    set(ENV{LSAN_OPTIONS} "")
    execute_process(COMMAND ${IOTLS_TIMEOUT_PROGRAM} -k 2 20 ./leak
                    WORKING_DIRECTORY ${probe_dir} TIMEOUT 40
                    RESULT_VARIABLE run_rc OUTPUT_VARIABLE run_out ERROR_VARIABLE run_out)
    set(ENV{ASAN_OPTIONS} "${saved_asan}")
    set(ENV{LSAN_OPTIONS} "${saved_lsan}")
    if(run_out MATCHES "ERROR: LeakSanitizer: detected memory leaks" AND run_out MATCHES "64 byte")
      set(lsan ON)
      set(why "the probe's deliberate 64-byte leak was reported")
    elseif(run_rc STREQUAL "124" OR run_rc STREQUAL "137" OR run_rc MATCHES "timeout")
      set(why "the probe's leak check hung (no report in 20 s: ptrace refused?)")
    elseif(run_out MATCHES "LeakSanitizer has encountered a fatal error")
      set(why "LeakSanitizer failed in the probe (fatal error: ptrace refused?)")
    else()
      string(REGEX REPLACE "\n.*" "" run_out "${run_out}")
      set(why "the probe's leak was not reported (exit ${run_rc}: ${run_out})")
    endif()
  endif()
  set(IOTLS_LSAN ${lsan} CACHE BOOL
      "LeakSanitizer usable here (decided by a probe at configure time; set it to decide by hand)")
  set(IOTLS_LSAN_NOTE "${why}" CACHE INTERNAL "why IOTLS_LSAN is what it is")
elseif(NOT DEFINED IOTLS_LSAN_NOTE)
  set(IOTLS_LSAN_NOTE "set by hand (-DIOTLS_LSAN=${IOTLS_LSAN})" CACHE INTERNAL "why IOTLS_LSAN is what it is")
endif()

if(IOTLS_LSAN)
  set(IOTLS_DETECT_LEAKS 1)
  set(lsan_msg "iotls: LeakSanitizer works here: ASAN_OPTIONS=detect_leaks=1 (${IOTLS_LSAN_NOTE})")
else()
  set(IOTLS_DETECT_LEAKS 0)
  set(lsan_msg "iotls: LeakSanitizer cannot run here: ASAN_OPTIONS=detect_leaks=0 (${IOTLS_LSAN_NOTE}); \
valgrind checks leaks instead (the memcheck tests of the builds without sanitizers)")
endif()
if(NOT IOTLS_LSAN AND (IOTLS_SANITIZE OR IOTLS_FUZZ))
  message(WARNING "${lsan_msg}")
else()
  message(STATUS "${lsan_msg}")
endif()
set(IOTLS_ASAN_OPTIONS "detect_leaks=${IOTLS_DETECT_LEAKS}:abort_on_error=1")
# For make test-asan and make fuzz, which print it and pass it on.
file(WRITE ${CMAKE_BINARY_DIR}/lsan.txt
     "detect_leaks=${IOTLS_DETECT_LEAKS}\n${IOTLS_LSAN_NOTE}\n")

# iotls_sanitizer_test_env(): every test registered so far in the calling
# directory runs with the probe's ASAN_OPTIONS (and UBSan printing and
# halting), whoever starts ctest.
function(iotls_sanitizer_test_env)
  get_property(tests DIRECTORY PROPERTY TESTS)
  foreach(t ${tests})
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
                 "ASAN_OPTIONS=${IOTLS_ASAN_OPTIONS}"
                 "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  endforeach()
endfunction()
