/*-------------------------------------------------------------------------
 *
 * histogram.c
 *		Log-linear latency histogram (see histogram.h for the error bound).
 *
 * Contract: pure functions over a caller-owned LatencyHistogram.  Called by
 * the collector while it holds the statistics lock exclusively (hist_add)
 * and by readers holding it shared (hist_percentile_ms).  Never called on
 * the query hot path: the log() is paid by the collector.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "capture/histogram.h"
#include "utils/float.h"

int
hist_bucket_for(double elapsed_us)
{
	double		b;

	if (elapsed_us < 1.0)
		return 0;
	b = floor(log(elapsed_us) / log(HIST_GROWTH));
	if (b >= HIST_BUCKETS)
		return HIST_BUCKETS - 1;
	return (int) b;
}

double
hist_bucket_lower_us(int bucket)
{
	return bucket == 0 ? 0.0 : pow(HIST_GROWTH, bucket);
}

void
hist_add(LatencyHistogram *hist, double elapsed_us)
{
	int			b = hist_bucket_for(elapsed_us);

	if (hist->counts[b] < PG_UINT32_MAX)
		hist->counts[b]++;
}

/*
 * The latency below which `fraction` of the executions fall, in ms.  Uses
 * the nearest-rank definition (rank = ceil(fraction * n)), as a DBA reading
 * "p95" expects.  Returns NaN for an empty histogram.
 */
double
hist_percentile_ms(const LatencyHistogram *hist, double fraction,
				   double min_ms, double max_ms)
{
	uint64		total = 0;
	uint64		rank;
	uint64		seen = 0;
	int			b;

	for (b = 0; b < HIST_BUCKETS; b++)
		total += hist->counts[b];
	if (total == 0)
		return get_float8_nan();

	rank = (uint64) ceil(fraction * (double) total);
	if (rank < 1)
		rank = 1;

	for (b = 0; b < HIST_BUCKETS; b++)
	{
		seen += hist->counts[b];
		if (seen >= rank)
		{
			double		mid_us = pow(HIST_GROWTH, b + 0.5);
			double		ms = mid_us / 1000.0;

			if (ms < min_ms)
				ms = min_ms;
			if (ms > max_ms)
				ms = max_ms;
			return ms;
		}
	}
	return max_ms;
}
