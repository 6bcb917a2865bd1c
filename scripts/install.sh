#!/bin/sh
# Installs the pci-policies command from a GitHub release: downloads the archive for this
# machine, checks it against the release's SHA256SUMS, and checks SHA256SUMS's keyless cosign
# signature (made by the release workflow) when cosign is installed, or always with
# --require-signature. Nothing is installed unless every check passes.
#
#   curl -fsSL https://raw.githubusercontent.com/pci-policies/pci-policies/main/scripts/install.sh \
#     | sh -s -- --version v0.1.0 --dir "$HOME/.local/bin"
#
# Options (or the environment variable in brackets):
#   --version vX.Y.Z|latest  the release (PCI_POLICIES_VERSION; default latest)
#   --dir DIR                where the binary goes (PCI_POLICIES_INSTALL_DIR; default ~/.local/bin)
#   --target TRIPLE          instead of this machine's (PCI_POLICIES_TARGET)
#   --repo OWNER/NAME        the GitHub repository releasing it (PCI_POLICIES_REPO)
#   --base-url URL           where the release files are, e.g. a mirror or file:///dir (PCI_POLICIES_BASE_URL)
#   --require-signature      fail when cosign is not installed
#   --trusted-root FILE      a Sigstore trusted root for cosign (private Sigstore, air gap)
#   --no-precompile          do not precompile the default policies into DIR/../share/pci-policies
#                            (by default it does, so a first scan neither pulls nor compiles)
# PCI_POLICIES_COSIGN names the cosign command (default cosign).
# The release assets are pci-policies-<target>.tar.gz, SHA256SUMS and SHA256SUMS.sigstore.json.
set -eu

version=${PCI_POLICIES_VERSION:-latest}
dir=${PCI_POLICIES_INSTALL_DIR:-${HOME:-/root}/.local/bin}
target=${PCI_POLICIES_TARGET:-}
repo=${PCI_POLICIES_REPO:-pci-policies/pci-policies}
base_url=${PCI_POLICIES_BASE_URL:-}
require_signature=false
cosign=${PCI_POLICIES_COSIGN:-cosign}
trusted_root=
precompile=true

fail() {
  echo "install.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case $1 in
    --version) version=${2:?--version needs a value}; shift 2 ;;
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    --target) target=${2:?--target needs a value}; shift 2 ;;
    --repo) repo=${2:?--repo needs a value}; shift 2 ;;
    --base-url) base_url=${2:?--base-url needs a value}; shift 2 ;;
    --require-signature) require_signature=true; shift ;;
    --trusted-root) trusted_root=${2:?--trusted-root needs a value}; shift 2 ;;
    --no-precompile) precompile=false; shift ;;
    -h | --help) echo "usage: install.sh [--version vX.Y.Z|latest] [--dir DIR] [--target TRIPLE] [--repo OWNER/NAME] [--base-url URL] [--require-signature] [--trusted-root FILE] [--no-precompile]"; exit 0 ;;
    *) fail "unknown option $1 (--help lists them)" ;;
  esac
done

# The release targets, as .github/workflows/release.yml builds them.
if [ -z "$target" ]; then
  os=$(uname -s)
  arch=$(uname -m)
  case "$os/$arch" in
    Linux/x86_64 | Linux/amd64) target=x86_64-unknown-linux-musl ;;
    Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
    Darwin/x86_64) target=x86_64-apple-darwin ;;
    Darwin/arm64 | Darwin/aarch64) target=aarch64-apple-darwin ;;
    *) fail "no release build for $os $arch (there are Linux and macOS builds for x86_64 and arm64); build it with: cargo install --locked --git https://github.com/$repo pci-policies" ;;
  esac
fi
case $version in
  latest | v[0-9]*) ;;
  *) fail "--version $version: expected latest or a release tag such as v0.1.0" ;;
esac
if [ -z "$base_url" ]; then
  if [ "$version" = latest ]; then
    base_url=https://github.com/$repo/releases/latest/download
  else
    base_url=https://github.com/$repo/releases/download/$version
  fi
fi

archive=pci-policies-$target.tar.gz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

fetch() {
  curl --proto '=https,file' --proto-redir '=https' --tlsv1.2 -fsSL --retry 3 -o "$work/$1" "$base_url/$1" \
    || fail "cannot download $base_url/$1"
}
fetch "$archive"
fetch SHA256SUMS

# The checksum: the archive's line of SHA256SUMS, exactly.
expected=$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1 }' "$work/SHA256SUMS")
[ -n "$expected" ] || fail "SHA256SUMS of $base_url lists no $archive"
if command -v sha256sum >/dev/null; then
  actual=$(sha256sum "$work/$archive" | awk '{ print $1 }')
elif command -v shasum >/dev/null; then
  actual=$(shasum -a 256 "$work/$archive" | awk '{ print $1 }')
else
  fail "neither sha256sum nor shasum is installed: cannot check $archive"
fi
[ "$actual" = "$expected" ] \
  || fail "$archive has SHA-256 $actual, SHA256SUMS says $expected: refusing to install it"

# The signature of SHA256SUMS: keyless, by the release workflow of $repo on a version tag.
if command -v "$cosign" >/dev/null; then
  fetch SHA256SUMS.sigstore.json
  if [ "$version" = latest ]; then
    identity="--certificate-identity-regexp=^https://github\\.com/$repo/\\.github/workflows/release\\.yml@refs/tags/v"
  else
    identity="--certificate-identity=https://github.com/$repo/.github/workflows/release.yml@refs/tags/$version"
  fi
  set -- verify-blob "$identity" \
    --certificate-oidc-issuer=https://token.actions.githubusercontent.com \
    --bundle="$work/SHA256SUMS.sigstore.json"
  [ -z "$trusted_root" ] || set -- "$@" --trusted-root="$trusted_root"
  "$cosign" "$@" "$work/SHA256SUMS" >"$work/cosign.log" 2>&1 || {
    cat "$work/cosign.log" >&2
    fail "the signature of SHA256SUMS does not verify (cosign above): refusing to install"
  }
  echo "install.sh: SHA256SUMS is signed by $repo's release workflow"
elif [ "$require_signature" = true ]; then
  fail "cosign is not installed and --require-signature was given (https://docs.sigstore.dev/cosign/system_config/installation/)"
else
  echo "install.sh: warning: cosign is not installed, so only the checksum was checked, not who signed SHA256SUMS" >&2
fi

tar -xzf "$work/$archive" -C "$work" "pci-policies-$target/pci-policies" \
  || fail "$archive holds no pci-policies-$target/pci-policies"
mkdir -p "$dir"
cp "$work/pci-policies-$target/pci-policies" "$dir/pci-policies.new"
chmod 0755 "$dir/pci-policies.new"
mv "$dir/pci-policies.new" "$dir/pci-policies"
echo "install.sh: installed $dir/pci-policies ($target, $version)"
# The default policies' modules and their code compiled for this machine, where the command
# looks for them (<prefix>/share/pci-policies beside <prefix>/bin): a first scan starts at once.
if [ "$precompile" = true ]; then
  share="$(dirname "$dir")/share/pci-policies"
  if "$dir/pci-policies" precompile --out "$share" >"$work/precompile.log" 2>&1; then
    echo "install.sh: precompiled the default policies into $share"
  else
    cat "$work/precompile.log" >&2
    echo "install.sh: warning: the default policies were not precompiled (above): a first scan pulls and compiles them" >&2
  fi
fi
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "install.sh: $dir is not on PATH: add it, or run $dir/pci-policies" ;;
esac
