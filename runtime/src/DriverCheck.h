//===- DriverCheck.h - driver tables checked against headers ---*- C++ -*-===//
//
// For CudaDriverCheck.cpp and HipDriverCheck.cpp, which are compiled only
// where the vendor's headers are found: whether a function pointer of the
// runtime's symbol table is compatible with the header's declaration (same
// arity; the same types, or integers/enums of the same size, or pointers to
// such with the same constness). Nothing here runs.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_DRIVERCHECK_H
#define BRAID_RUNTIME_SRC_DRIVERCHECK_H

#include <type_traits>

namespace braid::rt::check {

template <typename A, typename B> constexpr bool compatible() {
  if constexpr (std::is_same_v<A, B>)
    return true;
  else if constexpr ((std::is_integral_v<A> || std::is_enum_v<A>)&&(
                         std::is_integral_v<B> || std::is_enum_v<B>))
    return sizeof(A) == sizeof(B);
  else if constexpr (std::is_pointer_v<A> && std::is_pointer_v<B>) {
    using PA = std::remove_pointer_t<A>;
    using PB = std::remove_pointer_t<B>;
    return std::is_const_v<PA> == std::is_const_v<PB> &&
           compatible<std::remove_cv_t<PA>, std::remove_cv_t<PB>>();
  } else
    return false;
}

template <typename F, typename G> struct SameSignature {
  static constexpr bool value = false;
};
template <typename R1, typename... A1, typename R2, typename... A2>
struct SameSignature<R1 (*)(A1...), R2 (*)(A2...)> {
  template <bool sameArity> static constexpr bool params() {
    if constexpr (sameArity)
      return (compatible<A1, A2>() && ...);
    else
      return false;
  }
  static constexpr bool value =
      compatible<R1, R2>() && params<sizeof...(A1) == sizeof...(A2)>();
};

} // namespace braid::rt::check

#endif // BRAID_RUNTIME_SRC_DRIVERCHECK_H
