// Beast's separately compiled parts (BOOST_BEAST_SEPARATE_COMPILATION), once for the library.
#include <boost/beast/src.hpp>
