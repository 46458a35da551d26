//! Go's module-fetch configuration (GOPROXY, GONOPROXY, GOPRIVATE, GONOSUMDB, GOSUMDB, GOINSECURE,
//! HTTPS_PROXY, NO_PROXY) and the role of each destination a capture shows under it.
