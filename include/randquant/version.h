#pragma once
/// \file
/// The library's version, as macros, so that code built against several
/// randquant releases can choose at compile time.

/// \name Version macros
/// The version MAJOR.MINOR.PATCH of the headers in use: the numbers of
/// project() in CMakeLists.txt (setup.py reads them for the Python
/// package). Plain integer literals, so they work in `#if`; compare them in
/// order, MAJOR first:
/// \code
/// #if RANDQUANT_VERSION_MAJOR > 0 || RANDQUANT_VERSION_MINOR >= 1
/// // randquant 0.1 or later
/// #endif
/// \endcode
///@{
#define RANDQUANT_VERSION_MAJOR 0  ///< X of X.y.z: compared first
#define RANDQUANT_VERSION_MINOR 1  ///< Y of x.Y.z: compared when X is equal
#define RANDQUANT_VERSION_PATCH 0  ///< Z of x.y.Z: compared when X, Y are equal
///@}
