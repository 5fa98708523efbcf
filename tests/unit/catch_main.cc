// The Catch2 (v2) main for every unit test binary; compiled once, without optimisation.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
