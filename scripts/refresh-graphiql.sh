#!/usr/bin/env bash
# Downloads the playground's third-party files from the npm registry (with
# `npm pack`, at the versions pinned below) into assets/graphiql/, byte for
# byte, with their licences and a SHA256SUMS file. The service embeds these
# files in its binary and serves them itself (src/http/playground.rs), so the
# playground works offline and under a strict Content-Security-Policy.
#
# To move to other versions, change the pins, run this script, open the
# playground in a browser, and commit assets/graphiql/ with the new pins.
# `--check` downloads the pinned versions again and fails if the committed
# files differ from them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# graphiql 3.x is the last line with a UMD build (it bundles graphql and
# graphql-ws); React 18 is the last with UMD builds.
GRAPHIQL_VERSION=3.9.0
REACT_VERSION=18.3.1

dest=assets/graphiql
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" >/dev/null)
for package in "graphiql-$GRAPHIQL_VERSION" "react-$REACT_VERSION" "react-dom-$REACT_VERSION"; do
    mkdir -p "$work/$package"
    tar -xzf "$work/$package.tgz" -C "$work/$package"
done

out="$work/out"
mkdir -p "$out"
cp "$work/graphiql-$GRAPHIQL_VERSION/package/graphiql.min.js" "$out/graphiql.min.js"
cp "$work/graphiql-$GRAPHIQL_VERSION/package/graphiql.min.css" "$out/graphiql.min.css"
cp "$work/react-$REACT_VERSION/package/umd/react.production.min.js" "$out/react.production.min.js"
cp "$work/react-dom-$REACT_VERSION/package/umd/react-dom.production.min.js" "$out/react-dom.production.min.js"
cp "$work/graphiql-$GRAPHIQL_VERSION/package/LICENSE" "$out/LICENSE.graphiql"
cp "$work/react-$REACT_VERSION/package/LICENSE" "$out/LICENSE.react"
cp "$work/react-dom-$REACT_VERSION/package/LICENSE" "$out/LICENSE.react-dom"
(cd "$out" && sha256sum -- *.js *.css LICENSE.* >SHA256SUMS)
{
    echo "graphiql $GRAPHIQL_VERSION"
    echo "react $REACT_VERSION"
    echo "react-dom $REACT_VERSION"
} >"$out/VERSIONS"

if [[ "${1:-}" == "--check" ]]; then
    for file in "$out"/*; do
        cmp -s "$file" "$dest/$(basename "$file")" || { echo "$dest/$(basename "$file") differs from the npm package" >&2; exit 1; }
    done
    echo "assets/graphiql matches graphiql $GRAPHIQL_VERSION and react $REACT_VERSION"
    exit 0
fi

mkdir -p "$dest"
cp "$out"/* "$dest/"
echo "assets/graphiql now holds graphiql $GRAPHIQL_VERSION and react $REACT_VERSION:"
cat "$dest/SHA256SUMS"
