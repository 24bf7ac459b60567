package storage

// Buckets of the hub's trust feed (hub), beside those in buckets.go. The
// objects' bytes are files in a directory beside the hub's database (its
// path + ".objects"); these buckets hold their metadata and the manifest.
// BucketHubFeed and BucketHubFeedBlocks hold the feed of earlier versions
// (everything ever published), no longer read.
var (
	// BucketHubFeedState: "epoch" → hub id and generation, "manifest" →
	// the current manifest (hub).
	BucketHubFeedState = []byte("hub.feed.state")
	// BucketHubFeedObjects: SM3 of an object's bytes → its type, size,
	// when it was stored and when the manifest stopped naming it (hub).
	BucketHubFeedObjects = []byte("hub.feed.objects")
)
