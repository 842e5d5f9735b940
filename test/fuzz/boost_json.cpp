// Boost.JSON compiled into the fuzz targets, so its parser is instrumented.
#include <boost/json/src.hpp>
