// A shared library that is not a hailong plugin at all: the host must say so and go on.
extern "C" __attribute__((visibility("default"))) int some_other_library_function() {
    return 7;
}
