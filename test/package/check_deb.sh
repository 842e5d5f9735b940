#!/usr/bin/env bash
# Builds the Debian package with CPack (as `make package` does) and checks
# it: the files it must hold (dpkg-deb -c), its control data, and the
# systemd unit (systemd-analyze verify, when the machine has it).
# Usage: check_deb.sh BUILD_DIR WORK_DIR
set -euo pipefail
build=$1
work=$2
rm -rf "$work" && mkdir -p "$work"

command -v dpkg-deb >/dev/null || { echo "SKIPPED: dpkg-deb not found"; exit 0; }
cpack --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log"; echo "cpack failed"; exit 1; }
deb=$(ls "$work"/out/chanstate_*.deb)
echo "package: $deb"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/contents"

status=0
for f in /usr/bin/chanstate-node \
         /usr/lib/systemd/system/chanstate-node.service \
         /etc/chanstate/node.ini \
         /usr/include/chanstate/chanstate.hpp \
         /usr/include/chanstate/testing.hpp \
         /usr/include/chanstate/version.hpp \
         /usr/include/chanstate/endpoint/serve.hpp \
         /usr/include/chanstate/actors/testing/channel_case.hpp \
         /usr/include/chanstate/actors/testing/case_options.hpp \
         /usr/include/chanstate/actors/testing/channel_handle.hpp \
         /usr/include/chanstate/actors/testing/recording_transport.hpp \
         /usr/include/chanstate/actors/testing/scheduler_steps.hpp \
         /usr/include/chanstate/registry/registry_actor.hpp \
         /usr/lib/cmake/chanstate/chanstateConfig.cmake \
         /usr/lib/cmake/chanstate/chanstateConfigVersion.cmake \
         /usr/lib/cmake/chanstate/chanstateTargets.cmake \
         /usr/lib/cmake/chanstate/FindCAF.cmake \
         /usr/lib/cmake/chanstate/FindLMDB.cmake \
         /usr/share/doc/chanstate/LICENSE; do
  grep -qx "$f" "$work/contents" || { echo "missing from the package: $f"; status=1; }
done
grep -q '^/usr/lib/libchanstate_endpoint\.a$\|^/usr/lib/x86_64-linux-gnu/libchanstate_endpoint\.a$' "$work/contents" \
  || { echo "missing from the package: libchanstate_endpoint.a"; status=1; }
# Nothing test-, bench- or node-private is installed.
if grep -E 'node_config\.hpp|/demo\.hpp|/node\.hpp|config_file\.hpp|allocator\.hpp|channel_state\.hpp|journal_lmdb\.hpp|chanstate-bench|doctest' "$work/contents"; then
  echo "the package holds files that are not public"; status=1
fi
# Installed headers name each other as <chanstate/...> only.
mkdir -p "$work/root"
dpkg-deb -x "$deb" "$work/root"
if grep -rnE '#include "(registry|actors|app)/' "$work/root/usr/include/chanstate"; then
  echo "installed headers include by source-tree names"; status=1
fi
grep -qx /etc/chanstate/node.ini <(dpkg-deb -I "$deb" conffiles) \
  || { echo "/etc/chanstate/node.ini is not a conffile"; status=1; }

# Every shared library chanstate-node needs comes from a package it depends on.
depends=$(dpkg-deb -f "$deb" Depends)
depend_names=$(tr ',' '\n' <<<"$depends" | awk '{print $1}')
libs=$(ldconfig -p)
for lib in $(objdump -p "$work/root/usr/bin/chanstate-node" | awk '/NEEDED/ {print $2}'); do
  path=$(awk -v l="$lib" '$1 == l {print $NF}' <<<"$libs" | sed -n 1p)
  # dpkg knows a library by one of its names: the link, its target, with
  # or without the /usr of a merged-/usr system.
  real=$(readlink -f "$path")
  pkg=""
  for cand in "$path" "$real" "${real#/usr}" "/usr$path"; do
    pkg=$( (dpkg -S "$cand" 2>/dev/null || true) | sed -n 1p | cut -d: -f1)
    [ -n "$pkg" ] && break
  done
  if [ -z "$pkg" ]; then
    echo "cannot tell which package holds $lib ($path)"; status=1
  elif ! grep -qxF "$pkg" <<<"$depend_names"; then
    echo "chanstate-node needs $lib from $pkg, which Depends does not list: $depends"; status=1
  fi
done

# The unit, against the package's own files: its ExecStart must exist and be
# executable under --root; the targets it names come from this machine.
unit=usr/lib/systemd/system/chanstate-node.service
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not found: the unit was not verified (contents checked only)"
else
  missing_target=""
  for t in sysinit basic multi-user network shutdown default; do
    if [ -f "/usr/lib/systemd/system/$t.target" ]; then
      cp "/usr/lib/systemd/system/$t.target" "$work/root/usr/lib/systemd/system/"
    else
      missing_target=$t
    fi
  done
  if [ -n "$missing_target" ]; then
    echo "this machine has no $missing_target.target: the unit was not verified"
  elif ! out=$(systemd-analyze verify --root="$work/root" --recursive-errors=no \
                 chanstate-node.service 2>&1) || [ -n "$out" ]; then
    echo "systemd-analyze verify $unit:"; echo "$out"; status=1
  else
    echo "systemd-analyze verify: ok"
  fi
fi
[ $status -eq 0 ] && echo "package ok: $(wc -l <"$work/contents") entries"
exit $status
