# Shared compile settings for every Tandem target.
add_library(tandem_build_flags INTERFACE)
target_compile_options(tandem_build_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough
  # GCC 12 warns on designated initializers that rely on default member initializers.
  -Wno-missing-field-initializers
  $<$<BOOL:${TANDEM_WERROR}>:-Werror>)
if(TANDEM_SANITIZE)
  target_compile_options(tandem_build_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(tandem_build_flags INTERFACE -fsanitize=address,undefined)
endif()

# tandem_add_module(NAME DEPS ...): a static library from src/tandem/NAME/*.cpp,
# included as <tandem/NAME/header.h>.
function(tandem_add_module name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  add_library(tandem_${name} STATIC ${sources})
  target_include_directories(tandem_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(tandem_${name} PUBLIC tandem_build_flags ${ARG_DEPS})
endfunction()

# tandem_add_test(MODULE DEPS ... [DISCOVER_FILTER expr]): one GoogleTest binary per module from
# tests/MODULE/*.cpp, each test registered with CTest (only those DISCOVER_FILTER, a gtest filter,
# selects when given).
function(tandem_add_test module)
  cmake_parse_arguments(ARG "" "DISCOVER_FILTER" "DEPS;LABELS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  add_executable(test_${module} ${sources})
  target_link_libraries(test_${module} PRIVATE tandem_${module} tandem_test_support ${ARG_DEPS}
                        GTest::gtest GTest::gmock GTest::gtest_main)
  set(labels ${module} ${ARG_LABELS})
  if(ARG_DISCOVER_FILTER)
    gtest_discover_tests(test_${module} TEST_FILTER "${ARG_DISCOVER_FILTER}"
                         PROPERTIES LABELS "${labels}" DISCOVERY_TIMEOUT 60)
  else()
    gtest_discover_tests(test_${module} PROPERTIES LABELS "${labels}" DISCOVERY_TIMEOUT 60)
  endif()
endfunction()

# tandem_embed_file(TARGET SYMBOL FILE): compiles FILE's text into TARGET as
# `extern const std::string_view tandem::embedded::SYMBOL`, so the binary needs no data folder.
function(tandem_embed_file target symbol file)
  set(output ${CMAKE_CURRENT_BINARY_DIR}/embedded_${symbol}.cpp)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${file} -DOUTPUT=${output} -DSYMBOL=${symbol}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFile.cmake
    DEPENDS ${file} ${PROJECT_SOURCE_DIR}/cmake/EmbedFile.cmake
    COMMENT "Embedding ${file}")
  target_sources(${target} PRIVATE ${output})
endfunction()
