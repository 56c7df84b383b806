package dev.falgate.ledger;

import jakarta.persistence.MappedSuperclass;
import jakarta.persistence.PostLoad;
import jakarta.persistence.PostPersist;
import jakarta.persistence.Transient;

import org.springframework.data.domain.Persistable;

/**
 * An entity whose id is made before it is stored (a job's UUID, fal's request id): it tells JPA it is new
 * until stored, so saving inserts at once instead of probing with a select first.
 */
@MappedSuperclass
public abstract class StoredOnce<ID> implements Persistable<ID> {

    @Transient
    private boolean isNew = true;

    @Override
    public boolean isNew() {
        return isNew;
    }

    @PostLoad
    @PostPersist
    protected void markStored() {
        isNew = false;
    }
}
