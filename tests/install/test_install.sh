# `cmake --install` of this build tree into a fresh prefix: the program, both libraries
# (the shared one with its SONAME), the public headers, nntrain.pc, the CMake package, the
# man page and the bash completion; then a program outside the tree (consumer.c) is built
# against the installed tree with pkg-config and with find_package(nntrain), shared and
# static, and trains a model through the library API.
source "$(dirname "$0")/../e2e/lib.sh"
: "${NN_BINARY_DIR:?NN_BINARY_DIR must point at the build tree}"
HERE=$(cd "$(dirname "$0")" && pwd)
prefix=$WORK/prefix
cmake --install "$NN_BINARY_DIR" --prefix "$prefix" > install.log ||
    { cat install.log >&2; fail "cmake --install"; }
version=$(sed -n 's/^project(nntrain VERSION \([0-9.]*\).*/\1/p' "$NN_SOURCE_DIR/CMakeLists.txt")
major=${version%%.*}

for f in bin/nntrain lib/libnntrain.a "lib/libnntrain.so.$version" "lib/libnntrain.so.$major" \
         lib/libnntrain.so lib/pkgconfig/nntrain.pc lib/cmake/nntrain/nntrainConfig.cmake \
         lib/cmake/nntrain/nntrainConfigVersion.cmake lib/cmake/nntrain/nntrainTargets.cmake \
         share/bash-completion/completions/nntrain share/man/man1/nntrain.1; do
    [ -e "$prefix/$f" ] || fail "not installed: $f"
done
for h in "$NN_SOURCE_DIR"/include/nn/*.h; do
    cmp -s "$h" "$prefix/include/nn/$(basename "$h")" || fail "header not installed: $h"
done
# Nothing but the public API: no internal headers, no test programs.
[ "$(find "$prefix/include" -name '*.h' | wc -l)" -eq "$(ls "$NN_SOURCE_DIR"/include/nn/*.h | wc -l)" ] ||
    fail "other headers installed: $(find "$prefix/include" -name '*.h')"
[ "$(ls "$prefix/bin")" = nntrain ] || fail "other programs installed: $(ls "$prefix/bin")"

soname=$(readelf -d "$prefix/lib/libnntrain.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libnntrain.so.$major" ] || fail "SONAME '$soname', expected libnntrain.so.$major"
[ "$(readlink "$prefix/lib/libnntrain.so")" = "libnntrain.so.$major" ] || fail "the .so link"

"$prefix/bin/nntrain" --version | grep -q "^nntrain $version" || fail "installed --version"
grep -q "nntrain train" "$prefix/share/man/man1/nntrain.1" || fail "the man page lacks train"
grep -q -- "--help-catalogue" "$prefix/share/man/man1/nntrain.1" || fail "man page: train's flags"
man -l "$prefix/share/man/man1/nntrain.1" > /dev/null 2>&1 ||
    [ ! -x /usr/bin/man ] || fail "man cannot read the page"

# Linearly separable data: label 1 when the first feature exceeds the second.
awk 'BEGIN { srand(7); for (i = 0; i < 400; i++) { a = rand(); b = rand();
             printf "%d,%.4f,%.4f\n", (a > b), a, b } }' > data.csv
check_run() { # NAME PROGRAM
    mkdir -p "$1"
    "$2" data.csv "$1" > "$1.txt" 2>&1 || { cat "$1.txt" >&2; fail "$1: the program failed"; }
    grep -q "^nntrain $version: 30 epochs" "$1.txt" || fail "$1: $(cat "$1.txt")"
    awk '{ for (i = 1; i < NF; i++) if ($i == "val_accuracy") exit !($(i + 1) + 0 > 0.85) }' \
        "$1.txt" || fail "$1: did not learn: $(cat "$1.txt")"
    echo "install: $1: $(cat "$1.txt")"
}

# pkg-config, against the shared library (run from the prefix: no build tree in its path).
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion nntrain)" = "$version" ] || fail "pkg-config --modversion"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$HERE/consumer.c" -o consumer_pc \
    $(pkg-config --cflags --libs nntrain) -Wl,-rpath,"$prefix/lib"
ldd consumer_pc | grep "libnntrain.so.$major => $prefix/lib/" > /dev/null ||
    fail "consumer_pc does not load the installed library: $(ldd consumer_pc | grep nntrain)"
check_run pkg-config ./consumer_pc

# CMake: find_package(nntrain), the shared and the static target.
mkdir -p cmake-src
cp "$HERE/consumer.c" cmake-src/
cat > cmake-src/CMakeLists.txt <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(nntrain REQUIRED)
add_executable(consumer_shared consumer.c)
target_link_libraries(consumer_shared PRIVATE nntrain::nntrain)
add_executable(consumer_static consumer.c)
target_link_libraries(consumer_static PRIVATE nntrain::nntrain_static)
CMAKE
cmake -S cmake-src -B cmake-build -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    > cmake.log 2>&1 || { cat cmake.log >&2; fail "find_package(nntrain)"; }
cmake --build cmake-build > build.log 2>&1 || { cat build.log >&2; fail "build with CMake"; }
ldd cmake-build/consumer_shared | grep "libnntrain.so.$major => $prefix/lib/" > /dev/null ||
    fail "consumer_shared does not load the installed library"
ldd cmake-build/consumer_static | grep -q libnntrain && fail "consumer_static loads libnntrain"
check_run cmake-shared cmake-build/consumer_shared
check_run cmake-static cmake-build/consumer_static
echo "install: ok"
