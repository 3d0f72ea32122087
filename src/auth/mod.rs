//! Authentication: JWT verification (keys, JWKS) and the signed-in viewer.
