#pragma once
/// \file
/// Library version.

/// Major version.
#define RANDQUANT_VERSION_MAJOR 0
/// Minor version.
#define RANDQUANT_VERSION_MINOR 1
/// Patch version.
#define RANDQUANT_VERSION_PATCH 0
