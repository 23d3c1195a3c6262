#!/bin/sh
# Makes a runnable Docker image without any registry: a rootfs of busybox-static (every
# applet linked under /bin) plus the given binaries (in /usr/local/bin) and the shared
# libraries they load (at their own paths, with the dynamic loader), then `docker import`.
#
#   scripts/make-image.sh -t TAG [-H HOST]... [--tls] [-o FILE.tar] [BINARY...]
#
#   -t TAG      image name, e.g. drover-test:latest (required unless only -o is given)
#   -H HOST     daemon to import into (unix:///path, tcp://host:port); repeatable;
#               default: $DOCKER_HOST, else the docker CLI's default
#   --tls       talk TLS to tcp:// hosts using $DOCKER_CERT_PATH/{ca,cert,key}.pem
#   -o FILE     also write the rootfs tarball to FILE (with no -t/-H: only write it)
#
# Needs busybox-static (/bin/busybox), ldd, tar and the docker CLI (override with $DOCKER).
set -eu

tag=""; out=""; tls=""; hosts=""
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        -t) [ $# -ge 2 ] || usage; tag=$2; shift 2 ;;
        -H) [ $# -ge 2 ] || usage; hosts="$hosts $2"; shift 2 ;;
        -o) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
        --tls) tls=1; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) echo "make-image.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ -n "$tag" ] || [ -n "$out" ] || { echo "make-image.sh: give -t TAG and/or -o FILE" >&2; exit 2; }

busybox=/bin/busybox
if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
    echo "make-image.sh: $busybox is missing or not static (install busybox-static)" >&2; exit 1
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/drover-image.XXXXXX")
trap 'rm -rf "$root"' EXIT INT TERM
mkdir -p "$root/bin" "$root/usr/local/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"

# A binary and every shared library ldd resolves for it (absolute paths only: the loader
# line "/lib64/ld-linux-x86-64.so.2 (0x...)" and "libx.so => /path (0x...)").
copy_with_libs() {
    src=$1
    [ -f "$src" ] && [ -x "$src" ] || { echo "make-image.sh: $src is not an executable file" >&2; exit 1; }
    cp -L "$src" "$root/usr/local/bin/$(basename "$src")"
    ldd "$src" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | while read -r lib; do
        [ -e "$root$lib" ] && continue
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
}
for b in "$@"; do
    case "$b" in */*) path=$b ;; *) path=$(command -v "$b") || { echo "make-image.sh: $b not found" >&2; exit 1; } ;; esac
    copy_with_libs "$path"
done

tarball="$root.tar"
tar -C "$root" --numeric-owner --owner=0 --group=0 -cf "$tarball" .
trap 'rm -rf "$root" "$tarball"' EXIT INT TERM
[ -z "$out" ] || cp "$tarball" "$out"
[ -n "$tag" ] || exit 0

docker=${DOCKER:-docker}
import_into() {
    if [ -n "$1" ]; then
        set -- -H "$1"
        if [ -n "$tls" ]; then
            cp=${DOCKER_CERT_PATH:?--tls needs DOCKER_CERT_PATH}
            set -- "$@" --tlsverify --tlscacert "$cp/ca.pem" --tlscert "$cp/cert.pem" --tlskey "$cp/key.pem"
        fi
    fi
    "$docker" "$@" import - "$tag" < "$tarball" >/dev/null
}
if [ -z "$hosts" ]; then
    import_into "${DOCKER_HOST:-}"
else
    for h in $hosts; do import_into "$h"; done
fi
echo "$tag"
