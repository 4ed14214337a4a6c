package clickstream.etl;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.zip.GZIPInputStream;

import org.apache.spark.sql.api.java.UDF1;

/**
 * A mobile SDK request body, base64(gzip(JSON text)), to its JSON text; null when it is not valid base64,
 * not gzip, or not UTF-8. Registered as the SQL function {@code clickstream_gunzip} (etl/session.py): Spark
 * has no built-in gunzip, and a Python UDF moves every body to a Python worker and back.
 */
public final class GunzipBase64 implements UDF1<String, String> {
    private static final long serialVersionUID = 1L;

    @Override
    public String call(String value) {
        if (value == null) {
            return null;
        }
        try {
            byte[] compressed = Base64.getMimeDecoder().decode(value.trim());
            ByteArrayOutputStream out = new ByteArrayOutputStream(compressed.length * 6);
            try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed), 8192)) {
                in.transferTo(out);
            }
            return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(out.toByteArray()))
                .toString();
        } catch (IllegalArgumentException | IOException e) {
            return null;
        }
    }
}
