/*-------------------------------------------------------------------------
 *
 * ring.c
 *		The lock-free event ring; protocol in ring.h.
 *
 * Contract: ring_publish is the only call on the query hot path.  It takes
 * no lock, allocates nothing and never waits: one atomic read, one CAS, a
 * memcpy of the used bytes and a store.  ring_consume must be called by a single consumer at
 * a time; callers serialise on ARCHITECT_LOCK_CONSUMER.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "capture/ring.h"

static inline RingSlot *
ring_slot(EventRing *ring, uint64 pos)
{
	return (RingSlot *) (ring->slots + (pos & ring->mask) * ring->slot_size);
}

static inline char *
slot_payload(RingSlot *slot)
{
	return ((char *) slot) + MAXALIGN(sizeof(RingSlot));
}

Size
ring_shmem_size(uint64 capacity, Size payload_size)
{
	Size		slot_size = MAXALIGN(sizeof(RingSlot)) + MAXALIGN(payload_size);

	return add_size(offsetof(EventRing, slots), mul_size(capacity, slot_size));
}

void
ring_init(EventRing *ring, uint64 capacity, Size payload_size)
{
	uint64		i;

	Assert(capacity > 0 && (capacity & (capacity - 1)) == 0);
	ring->capacity = capacity;
	ring->mask = capacity - 1;
	ring->payload_size = payload_size;
	ring->slot_size = MAXALIGN(sizeof(RingSlot)) + MAXALIGN(payload_size);
	pg_atomic_init_u64(&ring->head, 0);
	pg_atomic_init_u64(&ring->tail, 0);
	pg_atomic_init_u64(&ring->dropped, 0);
	for (i = 0; i < capacity; i++)
		pg_atomic_init_u64(&ring_slot(ring, i)->seq, i);
}

/*
 * Copy len bytes (at most payload_size) into the next free slot.  Variable
 * sized payloads (texts, scan observations) copy only what they use.
 */
bool
ring_publish(EventRing *ring, const void *payload, Size len, uint64 *claimed)
{
	uint64		pos = pg_atomic_read_u64(&ring->head);

	for (;;)
	{
		RingSlot   *slot = ring_slot(ring, pos);
		uint64		seq;
		int64		diff;

		seq = pg_atomic_read_u64(&slot->seq);
		pg_read_barrier();
		diff = (int64) (seq - pos);

		if (diff == 0)
		{
			/* Slot is free for this lap; claim it (pos is updated on failure). */
			if (pg_atomic_compare_exchange_u64(&ring->head, &pos, pos + 1))
			{
				len = Min(len, ring->payload_size);
				memcpy(slot_payload(slot), payload, len);
				slot->len = (uint32) len;
				pg_write_barrier();
				pg_atomic_write_u64(&slot->seq, pos + 1);
				if (claimed)
					*claimed = pos;
				return true;
			}
		}
		else if (diff < 0)
		{
			/* The consumer has not freed this slot yet: full.  Drop, count. */
			pg_atomic_fetch_add_u64(&ring->dropped, 1);
			return false;
		}
		else
			pos = pg_atomic_read_u64(&ring->head);
	}
}

/* Copy the next event out; returns its length, 0 if there is none yet. */
Size
ring_consume(EventRing *ring, void *payload)
{
	uint64		pos = pg_atomic_read_u64(&ring->tail);
	RingSlot   *slot = ring_slot(ring, pos);
	uint64		seq = pg_atomic_read_u64(&slot->seq);
	Size		len;

	if (seq != pos + 1)
		return 0;				/* empty, or the producer is mid-copy */
	pg_read_barrier();
	len = slot->len;
	memcpy(payload, slot_payload(slot), len);
	pg_memory_barrier();
	pg_atomic_write_u64(&slot->seq, pos + ring->capacity);
	pg_atomic_write_u64(&ring->tail, pos + 1);
	return len;
}

uint64
ring_backlog(EventRing *ring)
{
	uint64		head = pg_atomic_read_u64(&ring->head);
	uint64		tail = pg_atomic_read_u64(&ring->tail);

	return head >= tail ? head - tail : 0;
}
