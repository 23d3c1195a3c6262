#pragma once
/// @file
/// DROVER_API marks what libdrover exports: the classes and functions of these public
/// headers. drover is compiled with hidden visibility (-fvisibility=hidden
/// -fvisibility-inlines-hidden), so a shared libdrover.so exports nothing else (its
/// private dependencies and internals stay inside it). Always the default visibility, in a
/// static build too: libdrover.a and libdrover.so are compiled alike.

#if defined(__GNUC__) || defined(__clang__)
#define DROVER_API __attribute__((visibility("default")))
#else
#define DROVER_API
#endif
