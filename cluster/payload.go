package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Payloads bigger than a message (tasks, and results over half the
// cluster's message limit) travel through JetStream's object store: the
// bytes go into the bucket in chunks, and the message carries the
// object's name in the hdrObject header instead. A task's object is
// deleted when its call has its results (or ends); a result's object
// when the pool that fetched it closes. The bucket's TTL removes what a
// crashed pool left behind, after as long as results are kept.
const (
	payloadBucket = "mp-payloads"
	hdrObject     = "Mp-Object" // the name of the object that holds the message's data
	payloadTTL    = time.Hour   // as the result stream's MaxAge: a resumed run finds them
	// maxPayload bounds what a worker or pool reads from one object (a
	// corrupt or hostile object must not make it allocate without bound).
	maxPayload = 1 << 30
)

// payloads is the object store of a pool or a worker, opened on first
// use.
type payloads struct {
	js   jetstream.JetStream
	once sync.Once
	obs  jetstream.ObjectStore
	err  error
	// the pool's side: the result objects fetched, deleted at Close
	mu      sync.Mutex
	fetched []string
}

// create makes the bucket (the pool's side, when it makes its streams).
func (p *payloads) create(ctx context.Context, storage jetstream.StorageType, replicas int) error {
	obs, err := p.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      payloadBucket,
		Description: "mp: tasks and results bigger than a message",
		TTL:         payloadTTL,
		Storage:     storage,
		Replicas:    replicas,
	})
	if err != nil {
		return fmt.Errorf("cluster: making the object store for big payloads: %w", err)
	}
	p.once.Do(func() { p.obs = obs })
	return nil
}

// store returns the bucket.
func (p *payloads) store(ctx context.Context) (jetstream.ObjectStore, error) {
	p.once.Do(func() { p.obs, p.err = p.js.ObjectStore(ctx, payloadBucket) })
	if p.err != nil {
		return nil, fmt.Errorf("cluster: the object store for big payloads: %w", p.err)
	}
	return p.obs, nil
}

// put stores data under a new name that starts with prefix.
func (p *payloads) put(ctx context.Context, prefix string, data []byte) (string, error) {
	obs, err := p.store(ctx)
	if err != nil {
		return "", err
	}
	name := prefix + "." + nuid.Next()
	if _, err := obs.PutBytes(ctx, name, data); err != nil {
		return "", fmt.Errorf("cluster: storing a payload of %d bytes: %w", len(data), err)
	}
	return name, nil
}

// get reads the object name, refusing one over maxPayload.
func (p *payloads) get(ctx context.Context, name string) ([]byte, error) {
	obs, err := p.store(ctx)
	if err != nil {
		return nil, err
	}
	info, err := obs.GetInfo(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("cluster: payload %s: %w", name, err)
	}
	if info.Size > maxPayload {
		return nil, fmt.Errorf("cluster: payload %s of %d bytes, over the limit of %d", name, info.Size, maxPayload)
	}
	b, err := obs.GetBytes(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("cluster: payload %s: %w", name, err)
	}
	return b, nil
}

// drop deletes the object name (already gone is fine).
func (p *payloads) drop(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if obs, err := p.store(ctx); err == nil {
		obs.Delete(ctx, name) // if it fails, the bucket's TTL removes it
	}
}

// fetchedResult records a result object to delete when the pool closes.
func (p *payloads) fetchedResult(name string) {
	p.mu.Lock()
	p.fetched = append(p.fetched, name)
	p.mu.Unlock()
}

// dropFetched deletes the result objects the pool fetched.
func (p *payloads) dropFetched() {
	p.mu.Lock()
	names := p.fetched
	p.fetched = nil
	p.mu.Unlock()
	for _, n := range names {
		p.drop(n)
	}
}
