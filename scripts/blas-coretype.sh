#!/bin/sh
# Prints the OpenBLAS kernel family this CPU can run, for OPENBLAS_CORETYPE (empty: let OpenBLAS
# decide). The Rasa environment's numpy 1.23 bundles OpenBLAS 0.3.20, which does not recognise
# recent Intel CPUs and falls back to its pre-AVX "Prescott" kernels: the sentence encoder's
# matrix products then run five times slower (19 against 97 GFLOPS on one core, measured on the
# development machine). Naming the family from the CPU's own flags restores the fast kernels.
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then echo "$OPENBLAS_CORETYPE"; exit 0; fi
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
case "$flags" in
  *avx512bw*) echo SkylakeX ;;
  *avx2*) echo Haswell ;;
  *) echo "" ;;
esac
