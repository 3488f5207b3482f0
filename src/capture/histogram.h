/*-------------------------------------------------------------------------
 *
 * histogram.h
 *		Log-linear latency histogram with bounded relative error.
 *
 * Bucket b holds latencies in [GROWTH^b, GROWTH^(b+1)) microseconds, with
 * GROWTH = 1.1; a percentile is read as the geometric middle of its bucket,
 * so its relative error is at most sqrt(1.1) - 1 < 4.9 %, then clamped to
 * the exact min and max seen.  256 buckets span 1 us to 11 hours.
 *
 * A LatencyHistogram is plain data inside a statement or plan entry of the
 * store, so it is protected by whatever protects that entry
 * (ARCHITECT_LOCK_STATS, see capture.h).  Callers: store.c (the consumer)
 * and the views (capture_views.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCHITECT_HISTOGRAM_H
#define ARCHITECT_HISTOGRAM_H

#include "postgres.h"

#define HIST_BUCKETS	256
#define HIST_GROWTH		1.1

typedef struct LatencyHistogram
{
	uint32		counts[HIST_BUCKETS];
} LatencyHistogram;

extern int	hist_bucket_for(double elapsed_us);
extern double hist_bucket_lower_us(int bucket);
extern void hist_add(LatencyHistogram *hist, double elapsed_us);
extern double hist_percentile_ms(const LatencyHistogram *hist, double fraction,
								 double min_ms, double max_ms);

#endif							/* ARCHITECT_HISTOGRAM_H */
