// Boost.JSON compiled into the TSan tests, so TSan sees its memory accesses.
#include <boost/json/src.hpp>
