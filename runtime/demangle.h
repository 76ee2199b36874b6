/* demangle.h - C++ symbol names for display and lookup (libstdc++'s __cxa_demangle). */
#ifndef SONDE_DEMANGLE_H
#define SONDE_DEMANGLE_H

#include <stdbool.h>

/* The demangled form of an Itanium-ABI name ("_ZN2Ns1fEi" -> "Ns::f(int)"), malloc'ed; NULL if
 * mangled is not a C++ name.  Always demangles: callers that display names check
 * demangle_enabled(). */
char *demangle(const char *mangled);

/* false when BPFTRACE_NO_CPP_DEMANGLE or SONDE_NO_CPP_DEMANGLE is set to a true value
 * (anything but "", "0" or "false"), read once. */
bool demangle_enabled(void);

#endif
