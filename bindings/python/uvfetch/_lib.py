"""The C library through ctypes: finding it, its structs and its functions.

Everything here mirrors include/uvfetch.h. The structs are laid out field
for field as the header declares them; tests/test_uvfetch.py compiles a
small C program against the header and checks every size and offset.
"""

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int,
                    c_int64, c_long, c_size_t, c_uint, c_uint64, c_void_p)

__all__ = ["LibraryNotFound", "load", "new_struct", "Options", "Result",
           "Request", "Stats", "DONE_CB", "CLOSE_CB", "BODY_CB", "UV_RUN_DEFAULT",
           "UV_RUN_ONCE", "UV_RUN_NOWAIT", "ADD_REPORT_INVALID"]

UV_RUN_DEFAULT = 0
UV_RUN_ONCE = 1
UV_RUN_NOWAIT = 2

ADD_REPORT_INVALID = 1  # UVFETCH_ADD_REPORT_INVALID


class LibraryNotFound(ImportError):
    """libuvfetch.so could not be found or loaded."""


class Result(Structure):
    """uvfetch_result_t."""
    _fields_ = [
        ("url", c_char_p),
        ("effective_url", c_char_p),
        ("data", c_void_p),
        ("ordinal", c_uint64),
        ("ok", c_int),
        ("error", c_int),
        ("curl_code", c_int),
        ("message", c_char_p),
        ("http_code", c_long),
        ("http_version", c_int),
        ("redirects", c_long),
        ("bytes", c_uint64),
        ("wire_bytes", c_uint64),
        ("total_time", c_double),
        ("ttfb", c_double),
        ("attempts", c_uint),
        ("start_time", c_double),
        ("dns_time", c_double),
        ("connect_time", c_double),
        ("tls_time", c_double),
        ("slot", c_uint),
    ]


class Options(Structure):
    """uvfetch_options_t."""
    _fields_ = [
        ("max_concurrent", c_uint),
        ("ordered", c_int),
        ("order_window", c_uint),
        ("follow_redirects", c_int),
        ("max_redirects", c_long),
        ("compressed", c_int),
        ("verify_tls", c_int),
        ("connect_timeout_ms", c_long),
        ("timeout_ms", c_long),
        ("low_speed_limit", c_long),
        ("low_speed_time", c_long),
        ("max_filesize", c_int64),
        ("http_version", c_int),
        ("protocols", c_char_p),
        ("user_agent", c_char_p),
        ("cacert", c_char_p),
        ("proxy", c_char_p),
        ("headers", POINTER(c_char_p)),
        ("retries", c_uint),
        ("retry_delay_ms", c_long),
        ("retry_max_time_ms", c_long),
        ("max_per_host", c_uint),
        ("rate", c_double),
        ("data", c_void_p),
        ("resolve", POINTER(c_char_p)),
        ("dns_cache_ms", c_long),
        ("dns_cache_size", c_uint),
        ("idle_timeout_ms", c_long),
        ("location_trusted", c_int),
        ("adaptive", c_int),
    ]


# uvfetch_done_cb, uvfetch_close_cb and the per-request hooks. The result
# comes as a plain address: Result.from_address is cheaper than a POINTER's
# .contents, and the struct is read only during the callback.
DONE_CB = CFUNCTYPE(None, c_void_p, c_void_p)
CLOSE_CB = CFUNCTYPE(None, c_void_p)
BODY_CB = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p, c_size_t)
HEADER_CB = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p, c_size_t)
SETUP_CB = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p)


class Request(Structure):
    """uvfetch_request_t."""
    _fields_ = [
        ("url", c_char_p),
        ("data", c_void_p),
        ("flags", c_uint),
        ("headers", POINTER(c_char_p)),
        ("timeout_ms", c_long),
        ("on_body", BODY_CB),
        ("on_header", HEADER_CB),
        ("on_setup", SETUP_CB),
    ]


class Stats(Structure):
    """uvfetch_stats_t."""
    _fields_ = [
        ("added", c_uint64),
        ("queued", c_uint64),
        ("waiting", c_uint64),
        ("running", c_uint64),
        ("held", c_uint64),
        ("done", c_uint64),
        ("failed", c_uint64),
        ("dns_lookups", c_uint64),
        ("dns_hits", c_uint64),
        ("dns_failures", c_uint64),
    ]


# Bytes past the end of a mirrored struct that the library writes
# (uvfetch_options_init, uvfetch_get_stats). The header grows by appending
# fields; with this slack a library newer than these mirrors writes its new
# fields into bytes of ours rather than past them, and uvfetch_init reads
# the defaults uvfetch_options_init put there.
SLACK = 256


def new_struct(cls):
    """A zeroed cls with SLACK bytes after it, for the library to fill."""
    buf = (ctypes.c_char * (ctypes.sizeof(cls) + SLACK))()
    return cls.from_buffer(buf)  # keeps buf alive


# name: (restype, argtypes). The uvfetch_t * and uv_loop_t * are plain
# addresses on this side.
_UVFETCH_FUNCS = {
    "uvfetch_strerror": (c_char_p, [c_int]),
    "uvfetch_err_name": (c_char_p, [c_int]),
    "uvfetch_version": (c_char_p, []),
    "uvfetch_curl_version": (c_char_p, []),
    "uvfetch_options_init": (None, [POINTER(Options)]),
    "uvfetch_init": (c_int, [c_void_p, POINTER(c_void_p), POINTER(Options),
                             DONE_CB]),
    "uvfetch_add": (c_int, [c_void_p, c_char_p, c_void_p]),
    "uvfetch_add_ex": (c_int, [c_void_p, c_char_p, c_void_p, c_uint,
                               POINTER(c_uint64)]),
    "uvfetch_submit": (c_int, [c_void_p, POINTER(Request),
                               POINTER(c_uint64)]),
    "uvfetch_cancel": (c_int, [c_void_p, c_uint64]),
    "uvfetch_pause": (c_int, [c_void_p]),
    "uvfetch_resume": (c_int, [c_void_p]),
    "uvfetch_get_stats": (None, [c_void_p, POINTER(Stats)]),
    "uvfetch_close": (c_int, [c_void_p, CLOSE_CB]),
}

_UV_FUNCS = {
    "uv_loop_size": (c_size_t, []),
    "uv_loop_init": (c_int, [c_void_p]),
    "uv_loop_close": (c_int, [c_void_p]),
    "uv_run": (c_int, [c_void_p, c_int]),
    "uv_loop_alive": (c_int, [c_void_p]),
    "uv_backend_fd": (c_int, [c_void_p]),
    "uv_backend_timeout": (c_int, [c_void_p]),
    "uv_version_string": (c_char_p, []),
}

LIBRARY_ENV = "UVFETCH_LIBRARY"

_HERE = os.path.dirname(os.path.abspath(__file__))
# bindings/python/uvfetch -> the source tree's top, whose build/ meson fills.
_TOP = os.path.normpath(os.path.join(_HERE, "..", "..", ".."))


def candidates():
    """Where libuvfetch.so is looked for, in order, as (how, path) pairs."""
    out = []
    env = os.environ.get(LIBRARY_ENV)
    if env:
        out.append((LIBRARY_ENV, env))
        return out  # asked for one file: no silent fallback to another
    out.append(("next to the package", os.path.join(_HERE, "libuvfetch.so")))
    out.append(("the build tree",
                os.path.join(_TOP, "build", "libuvfetch.so")))
    name = ctypes.util.find_library("uvfetch")
    if name:
        out.append(("ctypes.util.find_library", name))
    pkg = shutil.which("pkg-config")
    if pkg:
        try:
            libdir = subprocess.run(
                [pkg, "--variable=libdir", "uvfetch"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                timeout=10, check=False).stdout.decode().strip()
        except (OSError, subprocess.SubprocessError):
            libdir = ""
        if libdir:
            out.append(("pkg-config",
                        os.path.join(libdir, "libuvfetch.so.0")))
    return out


class Lib:
    """The loaded libraries: .uvfetch's functions and libuv's, as attributes
    named after the C functions (lib.uvfetch_add, lib.uv_run)."""

    def __init__(self, path):
        self.path = path
        self.dll = ctypes.CDLL(path)
        for name, (res, args) in _UVFETCH_FUNCS.items():
            fn = getattr(self.dll, name)
            fn.restype = res
            fn.argtypes = args
            setattr(self, name, fn)
        # Newer than the rest: None where the library lacks it.
        try:
            fn = self.dll.uvfetch_get_limit
            fn.restype = c_uint
            fn.argtypes = [c_void_p]
        except AttributeError:
            fn = None
        self.uvfetch_get_limit = fn
        # libuv's functions through libuvfetch's own handle: dlsym on it
        # searches the library's dependencies, so these are the libuv it
        # links, whatever its path. Only where that libuv is linked
        # statically (and hidden) is libuv.so.1 loaded by name.
        self.uv = self.dll
        try:
            self.dll.uv_loop_init
        except AttributeError:
            self.uv = ctypes.CDLL("libuv.so.1")
        for name, (res, args) in _UV_FUNCS.items():
            fn = getattr(self.uv, name)
            fn.restype = res
            fn.argtypes = args
            setattr(self, name, fn)


_lib = None
_lock = threading.Lock()


def load():
    """The Lib, loaded on first use. Raises LibraryNotFound, naming every
    place it looked and what to build or install."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        tried = []
        for how, path in candidates():
            if os.sep in path and not os.path.exists(path):
                tried.append("%s: %s (no such file)" % (how, path))
                continue
            try:
                _lib = Lib(path)
                return _lib
            except (OSError, AttributeError) as e:
                tried.append("%s: %s (%s)" % (how, path, e))
        raise LibraryNotFound(
            "uvfetch: cannot load libuvfetch.so. Tried:\n  " +
            "\n  ".join(tried) +
            "\nBuild it (meson setup build && ninja -C build, in the uvfetch "
            "source tree) and set %s=/path/to/build/libuvfetch.so, or "
            "install it (meson install -C build; ldconfig). It needs "
            "Debian's libcurl4 and libuv1." % LIBRARY_ENV)
