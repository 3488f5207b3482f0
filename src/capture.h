/*-------------------------------------------------------------------------
 *
 * capture.h
 *		Shared declarations of the capture path: the event that crosses the
 *		ring, the shared capture state and the capture GUCs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCHITECT_CAPTURE_H
#define ARCHITECT_CAPTURE_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "ring.h"

typedef enum CaptureTrack
{
	CAPTURE_TRACK_NONE,
	CAPTURE_TRACK_TOP,
	CAPTURE_TRACK_ALL
} CaptureTrack;

typedef enum CaptureEventKind
{
	EVENT_EXECUTION = 1,		/* a statement finished */
	EVENT_ERROR					/* a statement was aborted by an error */
} CaptureEventKind;

/* What one execution costs us to record: this struct, copied once. */
typedef struct CaptureEvent
{
	uint8		kind;			/* CaptureEventKind */
	bool		toplevel;
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	uint64		planid;
	uint64		elapsed_us;
	uint64		rows;
	int64		shared_blks_hit;
	int64		shared_blks_read;
	int64		temp_blks_written;
	uint64		wal_bytes;
	TimestampTz finished_at;
} CaptureEvent;

typedef struct CaptureShared
{
	EventRing	ring;			/* must be last: flexible array */
} CaptureShared;

extern int	capture_max_statements;
extern int	capture_max_plans;
extern int	capture_ring_size;
extern int	capture_track;
extern bool capture_save;
extern int	capture_collector_naptime_ms;
extern CaptureShared *capture_shared;

#endif							/* ARCHITECT_CAPTURE_H */
