package awsemu

import "net/http"

// STUB — replaced by the S3 implementation.

type s3State struct{}

func newS3State() *s3State { return &s3State{} }

// serveS3 serves a path-style S3 request; it takes e.mu itself.
func (e *Emulator) serveS3(w http.ResponseWriter, r *http.Request, body []byte, op string) {}

// s3BucketExistsLocked reports whether a bucket exists.
func (e *Emulator) s3BucketExistsLocked(bucket string) bool { return false }

// s3PutObjectLocked stores an object (command output upload).
func (e *Emulator) s3PutObjectLocked(bucket, key string, data []byte) error { return nil }
