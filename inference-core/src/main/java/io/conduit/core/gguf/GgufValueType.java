package io.conduit.core.gguf;

/** Metadata value types of the GGUF format, numbered as in the file. */
public enum GgufValueType {
    UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64;

    static GgufValueType fromId(int id) {
        return id >= 0 && id < values().length ? values()[id] : null;
    }

    int id() {
        return ordinal();
    }

    /** Size in bytes of a scalar of this type; strings and arrays have no fixed size. */
    int scalarSize() {
        return switch (this) {
            case UINT8, INT8, BOOL -> 1;
            case UINT16, INT16 -> 2;
            case UINT32, INT32, FLOAT32 -> 4;
            case UINT64, INT64, FLOAT64 -> 8;
            case STRING, ARRAY -> -1;
        };
    }
}
