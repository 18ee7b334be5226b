"""Vectorisable numba versions of exp, log, sin, cos, tan and tanh.

Without Intel's SVML, LLVM turns ``math.sin`` and friends into one libm call
per element, which keeps a loop over a column from being vectorised. The
functions here use arithmetic, comparisons and bit casts only (no calls, and
no branches that survive LLVM's if-conversion), so a loop calling them is
vectorised like any arithmetic loop: 3.5x (exp), 2.5x (log) and 5-9x (sin,
cos, tan, tanh) the throughput of the libm loops on an AVX2 machine.

Each function reduces its argument with a Cody-Waite split constant and
evaluates a polynomial whose coefficients were fitted for this module by
Chebyshev interpolation in 80-digit arithmetic (mpmath):

========  ========================================  ====================================
function  reduction                                 on the reduced argument
========  ========================================  ====================================
exp       x = k ln2 + r, |r| <= ln2/2               1 + r + r^2 E(r), E of degree 9
log       x = 2^e m, m in [sqrt(1/2), sqrt(2))      2 atanh(s), s = (m-1)/(m+1), fdlibm's
                                                    arrangement, degree 6 in s^2
sin, cos  x = k pi/2 + r, |r| <= pi/4, four parts  r + r^3 P(r^2), 1 - r^2/2 + r^4 Q(r^2)
tan       as sin and cos                            sin r / cos r or -cos r / sin r
tanh      none below |x| = 0.55, else w = e^-2|x|   x + x^3 T(x^2) (degree 10); 1 - 2w/(1+w)
========  ========================================  ====================================

Measured against numpy on dense samples (``tests/test_vecmath.py``) the
errors are at most 1 ulp (exp, log), 2 ulp (sin, cos, tanh) and 3 ulp (tan),
and special values follow numpy: exp(710) = inf, exp(-746) = 0, log(0) =
-inf, log(x < 0) = nan, sin(inf) = nan, tanh(+-20) = +-1, subnormals in and
out, nan in gives nan out. The exception is trigonometry of huge arguments:
the reduction is exact only while k < 2^20, so for ``|x| > TRIG_LIMIT``
(1.6e6) ``vsin``, ``vcos`` and ``vtan`` return nan as a flag. The column
helpers (``sin_column`` ...) find such elements with a cheap first pass
(``in_trig_range``) and then use libm, so they match numpy for every input;
the generated kernels guard their loops over ``vsin`` alike.

The scalar functions keep their own fast-math flags (``contract`` only): the
Cody-Waite steps and the compensated sums depend on the order of operations,
which ``reassoc`` would let LLVM change. They are therefore not declared
``inline="always"`` (numba would compile their bodies with the caller's
flags); LLVM inlines them anyway, and inlined instructions keep their flags.

numba's on-disk cache checks only the source file of the function it caches,
not of the functions it calls: kernels that inline these functions should
carry ``source_digest()`` in their own source, so that a change here
invalidates them.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from types import MappingProxyType

from llvmlite import ir
from numba import literally, njit, types
from numba.extending import intrinsic

__all__ = [
    "COLUMN_FUNCTIONS",
    "SCALAR_FUNCTIONS",
    "TRIG_LIMIT",
    "cos_column",
    "exp_column",
    "in_trig_range",
    "log_column",
    "sin_column",
    "source_digest",
    "tan_column",
    "tanh_column",
    "vcos",
    "vexp",
    "vlog",
    "vsin",
    "vtan",
    "vtanh",
]


def _scalar(func):
    """Compile a scalar function with only FMA contraction allowed (see the module docstring)."""
    return njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})(func)


def _column(func):
    """Compile a column loop with the flags of the generated kernels (codegen._FASTMATH)."""
    return njit(cache=True, nogil=True, error_model="numpy",
                fastmath={"reassoc", "contract", "nsz"})(func)


# ---------------------------------------------------------------------------
# Bit-level helpers. AVX2 has no vector int64 <-> float64 conversion, so
# integers are moved in and out of doubles through the mantissa of 1.5 * 2^52
# (adding a small integer-valued double to it leaves the integer in the low
# bits), which costs one add and one bit cast.

@intrinsic
def _bits(typingctx, x):
    """The IEEE-754 bit pattern of a float64 as an int64."""
    if not isinstance(x, types.Float) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, i):
    """The float64 whose IEEE-754 bit pattern is the int64 i."""
    if not isinstance(i, types.Integer) or i.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _rint(typingctx, x):
    """x rounded to the nearest integer, ties to even (llvm.rint, one vroundpd)."""
    if not isinstance(x, types.Float) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.rint", [ir.DoubleType()])
        return builder.call(fn, [args[0]])

    return types.float64(types.float64), codegen


_SHIFTER = 6755399441055744.0  # 1.5 * 2^52
_SHIFTER_BITS = 0x4338000000000000


@_scalar
def _to_int(k):
    """The integer value of k (an integer-valued float64 with |k| < 2^51) as an int64."""
    return _bits(k + _SHIFTER) - _SHIFTER_BITS


@_scalar
def _pow2(n):
    """2.0 ** n for an int64 n in [-1022, 1023]."""
    return _from_bits((n + 1023) << 52)


# ---------------------------------------------------------------------------
# exp and expm1

_LOG2E = 1.4426950408889634
# ln 2 = _LN2_HI + _LN2_LO to 74 bits; _LN2_HI has 21 significant bits, so
# k * _LN2_HI is exact for every |k| < 2^32.
_LN2_HI = float.fromhex("0x1.62e43p-1")
_LN2_LO = float.fromhex("-0x1.05c610ca86c39p-29")
# exp(710) overflows and exp(-746) underflows to 0; clamping to them keeps k
# small enough for the two-step scaling below.
_EXP_MAX = 710.0
_EXP_MIN = -746.0


@_scalar
def _expm1_poly(r):
    """(exp(r) - 1 - r) / r^2 for |r| <= ln2/2; error below 2^-56 (degree 9)."""
    return (0.5000000000000001 + r * (0.16666666666666669 + r * (0.04166666666662413
            + r * (0.008333333333330062 + r * (0.0013888888917213717
            + r * (0.00019841269863053618 + r * (2.4801521295954376e-05
            + r * (2.7557268459997064e-06 + r * (2.7620088445409746e-07
            + r * 2.510038549551032e-08)))))))))


@_scalar
def _reduce_ln2(x):
    """(k, r) with x = k ln2 + r, |r| <= ln2/2; k an integer-valued float."""
    k = _rint(x * _LOG2E)
    r = x - k * _LN2_HI
    r = r - k * _LN2_LO
    return k, r


@_scalar
def vexp(x):
    """exp(x), vectorisable; within 1 ulp, overflow to inf and gradual underflow as numpy.

    Parameters
    ----------
    x : float64

    Returns
    -------
    float64
    """
    # The comparisons are false for nan, which therefore passes through.
    x = _EXP_MAX if x > _EXP_MAX else x
    x = _EXP_MIN if x < _EXP_MIN else x
    k, r = _reduce_ln2(x)
    p = 1.0 + (r + r * r * _expm1_poly(r))
    # 2^k can be 2^1024 or below 2^-1022, so scale in two exact halves; the
    # second product is the only rounding, which makes subnormals correct.
    # Plain multiplications (rather than adding k to p's exponent bits) also
    # keep nan a nan.
    n = _to_int(k)
    h = n >> 1
    return p * _pow2(h) * _pow2(n - h)


# ---------------------------------------------------------------------------
# log

_MIN_NORMAL = 2.2250738585072014e-308
_TWO52 = 4503599627370496.0
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
# Adding this to the bits of y carries into the exponent field exactly when
# the mantissa of y reaches sqrt(2), so the exponent field of the sum is the
# exponent e with y = 2^e m, m in [sqrt(1/2), sqrt(2)).
_LOG_OFFSET = 0x3FF0000000000000 - _SQRT_HALF_BITS
_MANTISSA = 0x000FFFFFFFFFFFFF


@_scalar
def _log_poly(z):
    """(2 atanh(s) / s - 2) / s^2 with z = s^2 <= 0.02944; error below 2^-56 (degree 6)."""
    return (0.666666666666667 + z * (0.39999999999899444 + z * (0.2857142862600327
            + z * (0.22222211130259878 + z * (0.18182889455674947
            + z * (0.15331710618210773 + z * 0.14616585424888623))))))


@_scalar
def vlog(x):
    """Natural logarithm, vectorisable; within 1 ulp, log(0) = -inf, log(x < 0) = nan.

    Parameters
    ----------
    x : float64

    Returns
    -------
    float64
    """
    # Subnormals are scaled into the normal range first.
    tiny = x < _MIN_NORMAL
    y = x * _TWO52 if tiny else x
    u = _bits(y) + _LOG_OFFSET
    # Masking the exponent field (rather than an arithmetic shift, which AVX2
    # lacks for 64-bit lanes) lets LLVM use a logical shift.
    biased = (u >> 52) & 0x7FF
    m = _from_bits((u & _MANTISSA) + _SQRT_HALF_BITS)
    e = _from_bits(biased + _SHIFTER_BITS) - (_SHIFTER + 1023.0)
    e = e - 52.0 if tiny else e
    # log(m) = log(1 + f) = 2 atanh(s) = 2s + s R(s^2) with s = f / (2 + f),
    # and 2s = f - f^2/2 + s f^2/2, summed smallest terms first (fdlibm's
    # arrangement, which keeps the error below 1 ulp).
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    hfsq = 0.5 * f * f
    tail = z * _log_poly(z)
    v = e * _LN2_HI - ((hfsq - (s * (hfsq + tail) + e * _LN2_LO)) - f)
    v = -math.inf if x == 0.0 else v
    v = math.nan if x < 0.0 else v
    # inf and nan map to themselves. x + x rather than x: a loop that stores
    # x back where it was read would become a masked store (see _signed_zero).
    return v if x < math.inf else x + x


# ---------------------------------------------------------------------------
# sin, cos, tan

_TWO_OVER_PI = 0.6366197723675814
# pi/2 = _PIO2_1 + ... + _PIO2_4 to about 160 bits. The first three parts have
# at most 33 significant bits, so k * _PIO2_i is exact for |k| < 2^20, and
# each partial remainder is exact whenever it is small; that keeps the
# relative error of r near 1 ulp even for the doubles closest to a multiple
# of pi/2 (|r| down to 2^-61 for |x| < 2^20).
_PIO2_1 = float.fromhex("0x1.921fb544p+0")
_PIO2_2 = float.fromhex("0x1.0b4611a6p-34")
_PIO2_3 = float.fromhex("0x1.3198a2ep-69")
_PIO2_4 = float.fromhex("0x1.b839a252049c1p-104")
TRIG_LIMIT = 1.6e6
"""Largest |x| that ``vsin``, ``vcos`` and ``vtan`` reduce exactly; they give nan beyond."""


@_scalar
def _reduce_half_pi(x):
    """(r, q) with x = k pi/2 + r, |r| <= pi/4 and q = k mod 4 (|x| <= TRIG_LIMIT)."""
    k = _rint(x * _TWO_OVER_PI)
    r = x - k * _PIO2_1
    r = r - k * _PIO2_2
    r = r - k * _PIO2_3
    r = r - k * _PIO2_4
    # 1.5 * 2^52 is a multiple of 4, so the low bits of k + 1.5 * 2^52 give k
    # mod 4 for negative k too.
    return r, _bits(k + _SHIFTER) & 3


@_scalar
def _sin_poly(r):
    """sin(r) for |r| <= pi/4 (degree 15, error below 2^-55 relative)."""
    z = r * r
    return r + r * z * (-0.16666666666666666 + z * (0.008333333333330946
                        + z * (-0.0001984126983675497 + z * (2.755731610068303e-06
                        + z * (-2.5051131455427946e-08 + z * 1.591810123027412e-10)))))


@_scalar
def _cos_poly(r):
    """cos(r) for |r| <= pi/4 (degree 14, error below 2^-59)."""
    z = r * r
    tail = z * z * (0.041666666666666664 + z * (-0.0013888888888887395
                    + z * (2.4801587298763433e-05 + z * (-2.7557317270560326e-07
                    + z * (2.0876146024689747e-09 + z * -1.1382614868556325e-11)))))
    # 1 - z/2 rounded, plus its rounding error recovered exactly (fdlibm's trick).
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + tail)


@_scalar
def _sin_quadrant(x, shift):
    """sin(x + shift pi/2) for |x| <= TRIG_LIMIT, nan beyond; both polynomials and a select."""
    r, q = _reduce_half_pi(x)
    q = q + shift
    s = _sin_poly(r)
    c = _cos_poly(r)
    v = c if q & 1 else s
    v = -v if q & 2 else v
    return v if abs(x) <= TRIG_LIMIT else math.nan


@_scalar
def _signed_zero(v, x):
    """v, with x's sign when x is +-0 (the reduction turns -0.0 into +0.0, and v = +0).

    Not ``x if x == 0.0 else v``: in a loop that writes the result over x,
    LLVM turns storing x back into a masked store (vmaskmovpd), which costs
    some CPUs (AMD Zen) more than the whole polynomial.
    """
    return math.copysign(v, x) if x == 0.0 else v


@_scalar
def vsin(x):
    """sin(x), vectorisable; within 2 ulp for |x| <= TRIG_LIMIT, nan beyond (see sin_column).

    Parameters
    ----------
    x : float64

    Returns
    -------
    float64
    """
    v = _sin_quadrant(x, 0)
    return _signed_zero(v, x)


@_scalar
def vcos(x):
    """cos(x), vectorisable; within 2 ulp for |x| <= TRIG_LIMIT, nan beyond (see cos_column).

    Parameters
    ----------
    x : float64

    Returns
    -------
    float64
    """
    return _sin_quadrant(x, 1)


@_scalar
def vtan(x):
    """tan(x), vectorisable; within 3 ulp for |x| <= TRIG_LIMIT, nan beyond (see tan_column).

    Parameters
    ----------
    x : float64

    Returns
    -------
    float64
    """
    r, q = _reduce_half_pi(x)
    s = _sin_poly(r)
    c = _cos_poly(r)
    odd = q & 1
    # tan(r + k pi/2) is tan(r) for even k and -cot(r) for odd k.
    v = (c if odd else s) / (-s if odd else c)
    v = v if abs(x) <= TRIG_LIMIT else math.nan
    return _signed_zero(v, x)


# ---------------------------------------------------------------------------
# tanh

# Below -40, exp(y) is under 2^-57 and tanh rounds to +-1 exactly.
_TANH_CLAMP = -40.0
# Where the two formulas meet: below it 1 - 2w/(1+w) loses up to 3 ulp to
# cancellation, above it the polynomial would need many more terms.
_TANH_SWITCH = 0.55


@_scalar
def _tanh_poly(z):
    """(tanh(a) - a) / a^3 with z = a^2 <= 0.3025; error below 2^-57 (degree 10)."""
    return (-0.3333333333333333 + z * (0.13333333333332714 + z * (-0.05396825396743333
            + z * (0.021869488493635535 + z * (-0.00886323439708993
            + z * (0.003592110369136933 + z * (-0.001455661753739356
            + z * (0.0005889356755666889 + z * (-0.0002346336232753106
            + z * (8.511130450065171e-05 + z * -2.060149214083168e-05))))))))))


@_scalar
def vtanh(x):
    """tanh(x), vectorisable; within 2 ulp, relative accuracy near 0, +-1 exactly for |x| > 19.1.

    Parameters
    ----------
    x : float64

    Returns
    -------
    float64
    """
    a = abs(x)
    z = a * a
    small = a + a * z * _tanh_poly(z)
    # tanh a = 1 - 2w / (1 + w) with w = exp(-2a) in (0, 1].
    y = -2.0 * a
    y = _TANH_CLAMP if y < _TANH_CLAMP else y  # false for nan
    k, r = _reduce_ln2(y)
    s = _pow2(_to_int(k))
    w = s * (r + r * r * _expm1_poly(r)) + s
    large = 1.0 - 2.0 * w / (1.0 + w)
    t = large if a > _TANH_SWITCH else small  # nan takes the small branch
    return math.copysign(t, x)


# ---------------------------------------------------------------------------
# Column helpers: dst[:n] = f(src[:n]), True when every result is finite
# (the generated kernels' contract). The loops are written once, over an
# operation code; each public helper passes a constant code, which LLVM
# propagates after inlining, leaving one specialised vector loop.

_EXP, _LOG, _SIN, _COS, _TAN, _TANH = range(6)


@intrinsic
def _address(typingctx, arr):
    """The address of an array's first element, as an int64."""
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.ptrtoint(ary.data, ir.IntType(64))

    return types.int64(arr), codegen


@_scalar
def _apply(op, x):
    """The vectorisable function with code op at x."""
    literally(op)
    if op == _EXP:
        return vexp(x)
    if op == _LOG:
        return vlog(x)
    if op == _SIN:
        return vsin(x)
    if op == _COS:
        return vcos(x)
    if op == _TAN:
        return vtan(x)
    return vtanh(x)


@_scalar
def _apply_libm(op, x):
    """libm's version of the function with code op at x."""
    literally(op)
    if op == _EXP:
        return math.exp(x)
    if op == _LOG:
        return math.log(x) if x > 0.0 else (-math.inf if x == 0.0 else math.nan)
    if op == _SIN:
        return math.sin(x)
    if op == _COS:
        return math.cos(x)
    if op == _TAN:
        return math.tan(x)
    return math.tanh(x)


@_column
def _map_into(op, src, dst, n):
    literally(op)
    acc = 0.0
    for i in range(n):
        v = _apply(op, src[i])
        dst[i] = v
        acc += v * 0.0
    return acc == 0.0


@_column
def _map_inplace(op, buf, n):
    literally(op)
    # A separate loop because LLVM cannot prove that two array arguments do
    # not overlap: its run-time check sends src is dst to the scalar loop.
    acc = 0.0
    for i in range(n):
        v = _apply(op, buf[i])
        buf[i] = v
        acc += v * 0.0
    return acc == 0.0


@_column
def _map_libm(op, src, dst, n):
    # Scalar libm calls; each element is read before it is written, so src
    # may be dst.
    literally(op)
    acc = 0.0
    for i in range(n):
        v = _apply_libm(op, src[i])
        dst[i] = v
        acc += v * 0.0
    return acc == 0.0


@_column
def _count_beyond(src, n, limit):
    """How many of |src[:n]| exceed limit (nan does not); a vectorised integer sum."""
    count = 0
    for i in range(n):
        count += 1 if abs(src[i]) > limit else 0
    return count


@_column
def in_trig_range(src, n):
    """Whether ``vsin``, ``vcos`` and ``vtan`` reduce every one of ``src[:n]`` exactly.

    True when no ``|src[i]|`` exceeds ``TRIG_LIMIT`` (nan counts as within).
    A loop that calls them on an array runs only when this holds and falls
    back to libm otherwise, as the column helpers do.

    Parameters
    ----------
    src : ndarray of float64, shape (>= n,)
    n : int

    Returns
    -------
    bool
    """
    return _count_beyond(src, n, TRIG_LIMIT) == 0


@_column
def _map(op, src, dst, n):
    literally(op)
    trig = op == _SIN or op == _COS or op == _TAN
    if trig and not in_trig_range(src, n):
        return _map_libm(op, src, dst, n)
    if _address(src) == _address(dst):
        return _map_inplace(op, dst, n)
    return _map_into(op, src, dst, n)


@_column
def exp_column(src, dst, n):
    """``dst[:n] = exp(src[:n])``, vectorised; True when every value is finite.

    Parameters
    ----------
    src, dst : ndarray of float64, shape (>= n,)
        May be the same array (the generated kernels evaluate in place).
    n : int

    Returns
    -------
    bool
        False when some value is nan or infinite (the kernels' validity test).
    """
    return _map(_EXP, src, dst, n)


@_column
def log_column(src, dst, n):
    """``dst[:n] = log(src[:n])``, vectorised; True when all are finite (as ``exp_column``)."""
    return _map(_LOG, src, dst, n)


@_column
def sin_column(src, dst, n):
    """``dst[:n] = sin(src[:n])``, vectorised; True when every value is finite.

    A first, cheap pass counts the elements with ``|x| > TRIG_LIMIT``; when
    there are any, the whole column goes through libm instead, so the result
    matches numpy for every input.

    Parameters
    ----------
    src, dst : ndarray of float64, shape (>= n,)
        May be the same array (the generated kernels evaluate in place).
    n : int

    Returns
    -------
    bool
        False when some value is nan or infinite (the kernels' validity test).
    """
    return _map(_SIN, src, dst, n)


@_column
def cos_column(src, dst, n):
    """``dst[:n] = cos(src[:n])``, vectorised; True when all are finite (as ``sin_column``)."""
    return _map(_COS, src, dst, n)


@_column
def tan_column(src, dst, n):
    """``dst[:n] = tan(src[:n])``, vectorised; True when all are finite (as ``sin_column``)."""
    return _map(_TAN, src, dst, n)


@_column
def tanh_column(src, dst, n):
    """``dst[:n] = tanh(src[:n])``, vectorised; True when all are finite (as ``exp_column``)."""
    return _map(_TANH, src, dst, n)


SCALAR_FUNCTIONS = MappingProxyType({
    "exp": "vexp", "log": "vlog", "sin": "vsin", "cos": "vcos", "tan": "vtan", "tanh": "vtanh"})
"""Operator name -> name of the scalar function here (for kernel source text)."""

COLUMN_FUNCTIONS = MappingProxyType({
    "exp": "exp_column", "log": "log_column", "sin": "sin_column", "cos": "cos_column",
    "tan": "tan_column", "tanh": "tanh_column"})
"""Operator name -> name of the column helper here: ``ok = helper(src, dst, n)``."""


def source_digest() -> str:
    """A short hash of this module's source, for callers that inline its functions.

    numba's cache revalidates a cached function against its own file only, so
    a generated kernel that calls ``vsin`` would keep the old machine code
    after this file changes unless the digest is part of the kernel's source.

    Returns
    -------
    str
        16 hexadecimal digits.
    """
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
