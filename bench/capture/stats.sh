# Sourced by the pgbench benchmarks.  median_ci NAME UNIT reads ratios, one a
# line, and prints their median with a distribution-free confidence interval
# of the median (order statistics k and n+1-k of binomial(n, 1/2), the
# largest symmetric interval with at least 95 % coverage).
median_ci() {
  sort -n | awk -v name="$1" -v unit="$2" '
    { v[NR] = $1 }
    END {
      n = NR
      med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      k = 0; cum = 0; p = 0.5 ^ n; c = 1
      for (i = 0; i < n; i++) { if (cum + p * c > 0.025) break; cum += p * c; c = c * (n - i) / (i + 1); k = i + 1 }
      if (k >= 1) ci = sprintf("%.4f … %.4f (%.1f %% CI of the median)", v[k], v[n + 1 - k], (1 - 2 * cum) * 100)
      else ci = "too few " unit " for a 95 % CI"
      printf "%-11s median %.4f   %s   min %.4f max %.4f, %d %s\n", name, med, ci, v[1], v[n], n, unit
    }'
}
