package io.conduit.gateway.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.conduit.gateway.web.ApiException;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Admin bodies are parsed and written by hand so that every malformed input is a precise OpenAI-style 400. */
final class Json {
    static final ObjectMapper M = new ObjectMapper();

    private Json() {
    }

    static JsonNode read(String body) {
        if (body == null || body.isBlank()) return M.createObjectNode();
        try {
            JsonNode n = M.readTree(body);
            if (!n.isObject()) throw ApiException.invalid("The request body must be a JSON object.", null);
            return n;
        } catch (JsonProcessingException e) {
            throw ApiException.invalid("We could not parse the JSON body of your request.", null, "invalid_json");
        }
    }

    static ResponseEntity<String> ok(Object value) {
        return status(200, value);
    }

    static ResponseEntity<String> status(int status, Object value) {
        try {
            return ResponseEntity.status(status).contentType(MediaType.APPLICATION_JSON)
                    .body(M.writeValueAsString(normalize(value)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Timestamps as ISO-8601 strings, SQL arrays as lists, map keys kept in order. */
    static Object normalize(Object v) {
        if (v instanceof Timestamp t) return t.toInstant().toString();
        if (v instanceof Instant i) return i.toString();
        if (v instanceof java.sql.Date d) return d.toLocalDate().toString();
        if (v instanceof java.sql.Array a) {
            try {
                return List.of((Object[]) a.getArray());
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e);
            }
        }
        if (v instanceof org.postgresql.util.PGobject p) {
            try {
                return M.readTree(p.getValue());
            } catch (JsonProcessingException e) {
                return p.getValue();
            }
        }
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), normalize(x)));
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            l.forEach(x -> out.add(normalize(x)));
            return out;
        }
        return v;
    }

    static String text(JsonNode n, String name, boolean required) {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) {
            if (required) throw ApiException.invalid("'" + name + "' is required.", name);
            return null;
        }
        if (!v.isTextual()) throw ApiException.invalid("'" + name + "' must be a string.", name);
        return v.asText();
    }

    static Long integer(JsonNode n, String name, boolean required) {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) {
            if (required) throw ApiException.invalid("'" + name + "' is required.", name);
            return null;
        }
        if (!v.isIntegralNumber()) throw ApiException.invalid("'" + name + "' must be an integer.", name);
        return v.asLong();
    }

    static java.math.BigDecimal decimal(JsonNode n, String name) {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) throw ApiException.invalid("'" + name + "' is required.", name);
        if (!v.isNumber()) throw ApiException.invalid("'" + name + "' must be a number.", name);
        if (v.decimalValue().signum() < 0) throw ApiException.invalid("'" + name + "' must not be negative.", name);
        return v.decimalValue();
    }

    static String[] stringArray(JsonNode n, String name) {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isArray()) throw ApiException.invalid("'" + name + "' must be an array of strings or null.", name);
        List<String> out = new ArrayList<>();
        for (JsonNode x : v) {
            if (!x.isTextual()) throw ApiException.invalid("'" + name + "' must contain strings.", name);
            out.add(x.asText());
        }
        return out.toArray(String[]::new);
    }

    static String write(Object o) {
        try {
            return M.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
