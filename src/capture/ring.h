/*-------------------------------------------------------------------------
 *
 * ring.h
 *		Fixed-slot event ring in shared memory: many producers (backends),
 *		one consumer (whoever holds ARCHITECT_LOCK_CONSUMER).
 *
 * Protocol (bounded queue with a sequence number per slot):
 *	- slot i starts with seq = i;
 *	- a producer reads head, and if slot[head].seq == head it claims the
 *	  slot by CAS head -> head + 1, copies the event, then publishes it by
 *	  writing seq = head + 1 (after a write barrier);
 *	- if slot[head].seq < head the ring is full: the producer drops the
 *	  event and counts it; it never waits;
 *	- the consumer reads slot[tail]; if seq == tail + 1 the event is ready,
 *	  it copies it out and frees the slot with seq = tail + capacity.
 * A producer retries only when another producer won the same slot, so no
 * producer is ever blocked by a slow consumer or by a descheduled producer.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCHITECT_RING_H
#define ARCHITECT_RING_H

#include "postgres.h"

#include "port/atomics.h"

typedef struct RingSlot
{
	pg_atomic_uint64 seq;
	uint32		len;			/* bytes of payload actually written */
	/* payload follows, up to payload_size bytes, MAXALIGNed */
} RingSlot;

typedef struct EventRing
{
	uint64		capacity;		/* power of two */
	uint64		mask;
	Size		slot_size;		/* MAXALIGN(sizeof(RingSlot)) + payload */
	Size		payload_size;
	pg_atomic_uint64 head;		/* next position producers claim; also the
								 * count of events ever accepted */
	pg_atomic_uint64 tail;		/* next position the consumer reads */
	pg_atomic_uint64 dropped;	/* events refused because the ring was full */
	char		slots[FLEXIBLE_ARRAY_MEMBER];
} EventRing;

extern Size ring_shmem_size(uint64 capacity, Size payload_size);
extern void ring_init(EventRing *ring, uint64 capacity, Size payload_size);
extern bool ring_publish(EventRing *ring, const void *payload, Size len, uint64 *claimed);
extern Size ring_consume(EventRing *ring, void *payload);
extern uint64 ring_backlog(EventRing *ring);

#endif							/* ARCHITECT_RING_H */
